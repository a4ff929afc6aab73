"""``framescout rules``: validate a sampling configuration and replay it over predictions."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from framescout.cli import rules_server, rules_thresholds
from framescout.cli._output import console, errors, fail
from framescout.predictions import Predictions, PredictionsError
from framescout.sampling import ConfigError, ManualClock, Sampler, ThresholdSchedule, load_config
from framescout.sampling.config import SamplingConfig
from framescout.sampling.routing import Route, batch_name, continuation, describe, routes
from framescout.sampling.rule_configs import ScheduleConfig
from framescout.sampling.storage_uri import is_shared, redact

app = typer.Typer(
    help="Check sampling rules, see what they would keep, push them to a server and pull them back.",
    no_args_is_help=True,
)


def _load(path: Path) -> SamplingConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        fail(str(exc))


@app.command("check")
def check(config: Path = typer.Argument(..., help="Rules file (YAML or JSON).")) -> None:
    """Validate a rules file; exit 1 with the offending keys if it is not valid."""
    cfg = _load(config)
    console.print(f"[green]ok[/] {escape(str(config))}: {len(cfg.rules)} rule(s)")
    for i, rule in enumerate(cfg.rules):
        limits = f"  limits {rule.limits.spec()}{_where(rule.storage or cfg.storage)}" if rule.limits else ""
        route = f"  {describe(Route(rule.project, rule.batch))}" if rule.project or rule.batch else ""
        measured = rules_thresholds.describe(rule)
        console.print(f"  {i + 1}. {rule.name or rule.type} ({rule.type}){escape(measured + limits + route)}")
    if cfg.limits:
        console.print(f"  global limits {escape(str(cfg.limits.spec()) + _where(cfg.storage))}")
    console.print(escape(f"  storage {storage_line(cfg)}"))
    for note in cfg.notes():
        console.print(f"[yellow]note[/] {escape(note)}")


def _where(storage: str | None) -> str:
    return f" shared in {redact(storage)}" if storage and is_shared(storage) else ""


def storage_line(cfg: SamplingConfig) -> str:
    """Where the file's limits are counted, for `rules check`: the default and every shared storage."""
    default = redact(cfg.storage) if cfg.storage and is_shared(cfg.storage) else None
    line = (
        f"{default}: limits shared with every process and device that names it, on wall time"
        if default
        else ("memory://: limits counted in each process")
    )
    others = [redact(u) for u in cfg.shared_storages() if u != cfg.storage]
    if others:
        line += f"; rules also count in {', '.join(others)}"
    if cfg.shared_storages():
        line += " (not contacted by check)"
    return line


def read_frames(path: Path) -> list[dict[str, Any]]:
    """Read a predictions file: a JSON list of frames, or JSON Lines with one frame per line.

    A frame is a Roboflow detection response (``predictions`` list, optional ``image`` size object)
    with optional ``file``, ``timestamp`` (seconds) and ``model_version`` keys. The list that
    Roboflow's ``workspace.active_learning()`` returns (``image`` as a path) is read as well."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    try:
        if path.suffix.lower() == ".jsonl":
            data: Any = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}")
    if isinstance(data, dict) and isinstance(data.get("frames"), list):
        data = data["frames"]
    if not isinstance(data, list) or not all(isinstance(f, dict) for f in data):
        fail(f"{path}: expected a list of frames, each an object with a 'predictions' list")
    return data


def frame_label(frame: dict[str, Any], index: int) -> str:
    """A frame's display name: its ``file``, or ``image`` when that is a path (Roboflow's
    ``active_learning()`` return value), or its position."""
    for key in ("file", "image", "name"):
        if isinstance(frame.get(key), str):
            return str(frame[key])
    return f"#{index}"


@app.command("explain")
def explain(
    config: Path = typer.Argument(..., help="Rules file (YAML or JSON)."),
    predictions: Path = typer.Argument(..., help="Predictions file: JSON list or JSON Lines of frames."),
    fps: float = typer.Option(
        1.0, help="Frames per second assumed for frames without a 'timestamp' (drives quotas and limits)."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON decision per frame instead of a table."
    ),
    only_kept: bool = typer.Option(False, "--kept", help="Show only the frames that would be kept."),
    model_version: str | None = typer.Option(
        None, help="Model version of frames that do not carry a 'model_version' (threshold schedules)."
    ),
    evaluation: list[Path] = typer.Option(
        [],
        "--evaluation",
        help="A version's evaluation (`framescout evaluate --json`) for `from: evaluation` schedules; "
        "repeat it per version.",
    ),
    evaluation_from: str | None = typer.Option(
        None,
        "--evaluation-from",
        help="WORKSPACE/PROJECT: ask the server for the evaluation of each version the frames carry.",
    ),
    server: str | None = rules_server.SERVER_OPTION,
    api_key: str | None = rules_server.API_KEY_OPTION,
) -> None:
    """Replay the rules over recorded predictions and say, for each frame, kept or not and why.

    Each threshold schedule's line at the end says which threshold it used, for which versions; a
    ``from: evaluation`` schedule's says where each version's came from (``--evaluation`` files, the
    server with ``--evaluation-from``, else its fallback)."""
    if fps <= 0:
        fail("--fps must be positive")
    cfg = _load(config)
    frames = read_frames(predictions)
    clock = ManualClock(0.0)
    try:
        sampler = cfg.build(clock, shared=False)  # a replay must not spend the fleet's shared credit
    except ValueError as exc:  # a rule this machine cannot build (an ONNX encoder it does not have)
        fail(f"{config}: {exc}")
    carried = {model_version if f.get("model_version") is None else str(f["model_version"]) for f in frames}
    book = rules_thresholds.evaluation_book(
        evaluation, evaluation_from, carried, server=server, api_key=api_key
    )
    evaluated = rules_thresholds.use_book(sampler, book)
    if cfg.shared_storages():
        errors.print(  # stderr: --json output stays one decision per line
            "[yellow]note[/] explain counts every limit in this replay; the shared storage is not used"
        )
    table = Table(show_lines=False, expand=False)
    table.add_column("frame", overflow="fold")
    routed = routes(cfg)
    for column in ("kept", "rule", "reason", *(("to",) if routed else ())):
        table.add_column(column)
    batches: Counter[tuple[str | None, str]] = Counter()  # frames per (project, base batch name)
    kept_by: Counter[str] = Counter()
    limited_by: Counter[str] = Counter()
    versions: Counter[tuple[str | None, bool]] = Counter()  # (version, from --model-version)
    for index, frame in enumerate(frames):
        label = frame_label(frame, index)
        try:
            preds = Predictions.from_roboflow(frame)
        except PredictionsError as exc:
            fail(f"{predictions}: frame {index} ({label}): {exc}")
        stamp = frame.get("timestamp")
        clock.set(max(clock.now, float(stamp)) if isinstance(stamp, int | float) else index / fps)
        own = frame.get("model_version")
        version = model_version if own is None else str(own)
        versions[version, own is None and model_version is not None] += 1
        decision = sampler.decide(preds, model_version=version)
        limited_by.update(decision.limited)
        if decision.keep and decision.rule:
            kept_by[decision.rule] += 1
        where = destination(routed, decision.rule, decision.timestamp, batches) if decision.keep else {}
        if only_kept and not decision.keep:
            continue
        if as_json:
            console.print_json(json.dumps({"frame": label, **decision.to_dict(), **where}), indent=None)
        else:
            to = [" ".join(f"{k} {v}" for k, v in where.items()) or "-"] if routed else []
            table.add_row(
                escape(label),
                "[green]yes[/]" if decision.keep else "[dim]no[/]",
                escape(decision.rule or "-"),
                escape(decision.reason),
                *map(escape, to),
            )
    notes = schedule_notes(cfg, sampler, versions) + rules_thresholds.evaluated_notes(evaluated, versions)
    if as_json:
        for note in notes:  # stdout stays one JSON object per line
            errors.print(escape(note), soft_wrap=True)
        return
    console.print(table)
    summary = ", ".join(f"{rule} {n}" for rule, n in kept_by.most_common()) or "none"
    console.print(f"kept {sum(kept_by.values())} of {len(frames)} frame(s): {summary}")
    if limited_by:
        console.print("held back by limits: " + ", ".join(f"{r} {n}" for r, n in limited_by.most_common()))
    for note in notes:
        console.print(escape(note))


def destination(
    routed: dict[str, Route], rule: str | None, at: float, batches: Counter[tuple[str | None, str]]
) -> dict[str, str]:
    """Where a frame kept by ``rule`` at ``at`` would go (``project``, ``batch``; absent: the
    collector's own), numbering continuations as the collector does (``batches`` counts per name)."""
    route = routed.get(rule or "")
    if route is None:
        return {}
    out = {"project": route.project} if route.project else {}
    if route.batch is not None:
        base = batch_name(route.batch, at)
        out["batch"] = continuation(base, batches[route.project, base], route.batch.max_images)
        batches[route.project, base] += 1
    return out


def schedule_notes(
    cfg: SamplingConfig, sampler: Sampler, versions: Counter[tuple[str | None, bool]]
) -> list[str]:
    """Per threshold schedule, the threshold each model version of the replayed frames was held to,
    and why (listed in the schedule, --model-version, the schedule's default or its last entry)."""
    rules = {rule.name: rule for rule in sampler.rules}
    notes = []
    for rule_config in cfg.rules:
        if not isinstance(rule_config, ScheduleConfig) or rule_config.evaluated:
            continue  # from: evaluation schedules: `rules_thresholds.evaluated_notes`
        name = rule_config.name or rule_config.type
        rule = rules[name]
        assert isinstance(rule, ThresholdSchedule)
        if rule_config.default is not None:
            fallback = "its default"
        else:
            fallback = f"its last entry, version {list(rule.schedule)[-1]}, as it has no default"
        parts = []
        for (version, from_option), count in sorted(versions.items(), key=_version_order):
            threshold = f"{rule.threshold_for(version):.2f} for {count} frame(s)"
            if version is None:
                parts.append(
                    f"{threshold} without a model version ({fallback}; pass --model-version to choose)"
                )
                continue
            origin = "--model-version" if from_option else "their own"
            listed = "" if version in rule.schedule else f", not in the schedule: {fallback}"
            parts.append(f"{threshold} of model version {version} ({origin}{listed})")
        notes.append(f"threshold schedule {name}: " + "; ".join(parts))
    return notes


def _version_order(item: tuple[tuple[str | None, bool], int]) -> tuple[bool, str, bool]:
    (version, from_option), _ = item
    return version is not None, version or "", from_option


app.command("push")(rules_server.push)
app.command("pull")(rules_server.pull)
