"""``framescout evaluate WORKSPACE/PROJECT``: a model version measured on the project's reviewed frames.

Asks the server (``GET …/evaluation``, through the SDK) and prints the overall and per-class measures
as a table; ``--compare V2`` puts a second version beside it, measured on the same frames, with the
differences. Without ``--model-version`` it measures the newest version that has evaluable frames
(``GET …/evaluation/versions``). An unknown version ends the command with one line and exit 1."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from framescout.cli._output import console, fail
from framescout.cli.rules_server import API_KEY_OPTION, SERVER_OPTION, _client

COLUMNS = (("AP", "ap"), ("AP50", "ap50"), ("prec.", "precision"), ("recall", "recall"), ("F1", "f1"))
COMPARED = (("AP", "ap"), ("AP50", "ap50"))


def evaluate(
    target: str = typer.Argument(..., help="WORKSPACE/PROJECT whose frames to measure on."),
    model_version: str | None = typer.Option(
        None, "--model-version", help="Version to measure (default: the newest with evaluable frames)."
    ),
    compare: str | None = typer.Option(None, "--compare", help="A second version, on the same frames."),
    rule: str | None = typer.Option(None, "--rule", help="Only frames kept by this sampling rule."),
    tag: str | None = typer.Option(None, "--tag", help="Only frames with this tag."),
    device_id: str | None = typer.Option(None, "--device-id", help="Only frames from this device."),
    since: str | None = typer.Option(None, "--since", help="Only frames seen since (ISO 8601, UTC)."),
    as_json: bool = typer.Option(False, "--json", help="Print the server's JSON answer instead."),
    server: str | None = SERVER_OPTION,
    api_key: str | None = API_KEY_OPTION,
) -> None:
    """Measure a model version on the frames with ground truth (COCO AP, AP50, per class)."""
    with _client(server, api_key, target) as client:
        if model_version is None:
            model_version = client.evaluation_versions(target)["default"]
            if model_version is None:
                fail(f"no model version of {target} has evaluable frames (ground truth and its predictions)")
        filters = {"rule": rule, "tag": tag, "device_id": device_id, "since": since}
        body = client.evaluation(target, model_version, compare=compare, **filters)
    if as_json:
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    elif not body["images"]:
        console.print(f"{escape(target)}: no frame has ground truth and predictions of {_versions(body)}")
    else:
        console.print(
            f"{escape(target)}: {_versions(body)} on {body['images']} frames "
            f"({body['ground_truth_boxes']} ground-truth boxes)"
        )
        console.print(_compared(body) if "compare" in body else _single(body))


def _versions(body: dict[str, Any]) -> str:
    names = [body["model_version"]] + ([body["compare"]["model_version"]] if "compare" in body else [])
    return " and ".join(f"version {escape(str(v))}" for v in names)


def _single(body: dict[str, Any]) -> Table:
    """One row for all classes (precision, recall and F1 pooled at the recommended threshold), then
    one per class: support, the measures, the class's best threshold."""
    table = _table(*(title for title, _ in COLUMNS), "thr.")
    pooled = {"ap": body["ap"], "ap50": body["ap50"], **(body.get("overall") or {})}
    rows = [("[bold]all[/]", _support(body), pooled, body["recommended_threshold"])]
    rows += [
        (escape(n), str(c.get("support", "")), c, c.get("best_threshold"))
        for n, c in sorted(body["per_class"].items())
    ]
    for name, support, measures, threshold in rows:
        table.add_row(name, support, *(_number(measures.get(key)) for _, key in COLUMNS), _number(threshold))
    return table


def _table(*headers: str, caption: str | None = None) -> Table:
    """A table with the class and support columns first (class names never wrapped)."""
    table = Table(caption=caption)
    table.add_column("class", no_wrap=True)
    for header in ("support", *headers):
        table.add_column(header, justify="right")
    return table


def _support(body: dict[str, Any]) -> str:
    """All classes' support: the truth boxes that count (crowd regions do not)."""
    return str(sum(c.get("support", 0) for c in body["per_class"].values()))


def _compared(body: dict[str, Any]) -> Table:
    """Per measure: the base version, the compared one and the difference (compared − base); the
    thresholds are in the caption."""
    other, delta = body["compare"], body["delta"]
    versions = (escape(str(body["model_version"])), escape(str(other["model_version"])))
    headers = [h for title, _ in COMPARED for h in (*(f"{title} {v}" for v in versions), f"Δ {title}")]
    thresholds = (_number(body["recommended_threshold"]), _number(other["recommended_threshold"]))
    caption = f"recommended threshold: {versions[0]} {thresholds[0]}, {versions[1]} {thresholds[1]}"
    table = _table(*headers, caption=caption)
    table.add_row("[bold]all[/]", _support(body), *_triples(body, other, delta))
    for name, changes in delta["per_class"].items():
        ours, theirs = body["per_class"].get(name, {}), other["per_class"].get(name, {})
        support = ours.get("support", theirs.get("support", ""))
        table.add_row(escape(name), str(support), *_triples(ours, theirs, changes))
    return table


def _triples(ours: dict[str, Any], theirs: dict[str, Any], delta: dict[str, Any]) -> list[str]:
    """Per compared measure: ours, theirs, and the signed difference."""
    return [
        cell
        for _, key in COMPARED
        for cell in (_number(ours.get(key)), _number(theirs.get(key)), _number(delta.get(key), signed=True))
    ]


def _number(value: float | None, *, signed: bool = False) -> str:
    """Three decimals (``+``/``-`` for a difference); ``–`` for a measure there is none of."""
    if value is None:
        return "–"
    return f"{value:+.3f}" if signed else f"{value:.3f}"
