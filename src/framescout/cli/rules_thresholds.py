"""``rules explain`` and ``from: evaluation`` schedules: where the evaluations come from, and the line
per schedule saying which threshold each model version was held to and why.

The evaluations are read from files (``--evaluation FILE``: what ``framescout evaluate --json`` prints,
or the route's JSON) or asked from a server (``--evaluation-from WORKSPACE/PROJECT``: one
``GET …/evaluation?model_version=V`` per version the replayed frames carry), so a replay holds each
version to the threshold a collector running it would use now.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from framescout.cli._output import fail
from framescout.cli.rules_server import _client
from framescout.sampling import Sampler
from framescout.sampling.evaluated import EvaluationBook, summarize
from framescout.sampling.rule_configs import RuleConfigBase, ScheduleConfig
from framescout.sampling.rules import EvaluatedSchedule


def evaluation_book(
    files: Iterable[Path],
    target: str | None,
    versions: Iterable[str | None],
    *,
    server: str | None,
    api_key: str | None,
) -> EvaluationBook:
    """The evaluations a replay uses: each file's, then the server's for each of ``versions`` (a
    version the server does not know has none: its schedules fall back). Bad input ends the command."""
    book = EvaluationBook()
    for path in files:
        try:
            answer = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(answer, dict):
                raise ValueError("expected the JSON object `framescout evaluate --json` prints")
            book.put(summarize(answer))
        except OSError as exc:
            fail(f"--evaluation {path}: cannot read it: {exc.strerror or exc}")
        except ValueError as exc:  # json.JSONDecodeError is one
            fail(f"--evaluation {path}: not an evaluation: {exc}")
    if target is None:
        return book
    from framescout.client import ApiError

    with _client(server, api_key, target) as client:
        for version in sorted({v for v in versions if v is not None}):
            try:
                answer = client.evaluation(target, version)
            except ApiError as exc:
                if exc.status != 404 or exc.code != "model_version_not_found":
                    raise
                continue
            try:
                book.put(summarize(answer, version))
            except ValueError as exc:
                fail(f"{server}: the evaluation of {version} is not one: {exc}")
    return book


def describe(rule: RuleConfigBase) -> str:
    """For `rules check`: a ``from: evaluation`` schedule's settings (empty for every other rule)."""
    if not isinstance(rule, ScheduleConfig) or not rule.evaluated:
        return ""
    assert rule.fallback is not None
    floor = f", floor {rule.floor:.2f}" if rule.floor is not None else ""
    per_class = ", per class" if rule.per_class else ""
    return f"  thresholds from evaluation (fallback {rule.fallback:.2f}{floor}{per_class})"


def use_book(sampler: Sampler, book: EvaluationBook) -> list[EvaluatedSchedule]:
    """Point the sampler's ``from: evaluation`` schedules at ``book``; those schedules."""
    evaluated = [rule for rule in sampler.rules if isinstance(rule, EvaluatedSchedule)]
    for rule in evaluated:
        rule.use_book(book)
    return evaluated


def evaluated_notes(
    evaluated: Iterable[EvaluatedSchedule], versions: Counter[tuple[str | None, bool]]
) -> list[str]:
    """Per ``from: evaluation`` schedule: per model version of the replayed frames, the threshold in
    force (and the per-class ones), for how many frames, and its source."""
    notes = []
    for rule in evaluated:
        parts = []
        by_version: Counter[str | None] = Counter()
        for (version, _), count in versions.items():
            by_version[version] += count
        for version, count in sorted(
            by_version.items(), key=lambda item: (item[0] is not None, item[0] or "")
        ):
            force = rule.in_force(version)
            classes = ", ".join(f"{name} {t:.2f}" for name, t in force.per_class.items())
            per_class = f", per class {classes}" if classes else ""
            label = f"of model version {version}" if version is not None else "without a model version"
            parts.append(f"{force.threshold:.2f}{per_class} for {count} frame(s) {label} ({force.source})")
        floor = f", floor {rule.policy.floor:.2f}" if rule.policy.floor is not None else ""
        notes.append(f"threshold schedule {rule.name} (from evaluation{floor}): " + "; ".join(parts))
    return notes
