"""Thresholds on evidence: a `threshold_schedule` with ``from: evaluation`` holds each model version to
the F1-optimal confidence the server measured for it on the team's reviewed frames.

Pure functions and one small thread-safe holder, no I/O: `summarize` keeps the few fields of an
evaluation answer (``GET …/evaluation?model_version=V``) that a threshold needs; `resolve` turns a
summary (or none) into the `InForce` thresholds for one version, the rule's ``floor`` applied and a
``source`` line saying where they came from; `EvaluationBook` holds the summaries per version that a
collector fetched (`framescout.collector.thresholds_sync`) or `rules explain` read from files, and
the rules consult it per frame.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Summary:
    """What a threshold needs from one version's evaluation: the version, how many reviewed frames it
    was measured on, the F1-optimal confidence over all classes (``None``: nothing to measure) and
    each class's own F1-optimal confidence (classes without one are left out)."""

    model_version: str
    images: int
    recommended: float | None
    per_class: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The summary as cached on a device (`from_json` reads it back)."""
        return {
            "model_version": self.model_version,
            "images": self.images,
            "recommended_threshold": self.recommended,
            "per_class": {name: {"best_threshold": t} for name, t in self.per_class.items()},
        }


def summarize(answer: Mapping[str, Any], model_version: str | None = None) -> Summary:
    """The `Summary` of an evaluation answer (the route's JSON, `framescout evaluate --json`, or a
    cached `Summary.to_json`). ``model_version`` names it when the answer does not. `ValueError` when
    the answer is not an evaluation (no version, a threshold that is not a confidence)."""
    version = answer.get("model_version", model_version)
    if version is None or isinstance(version, bool) or not isinstance(version, str | int):
        raise ValueError("an evaluation names its model_version")
    images = answer.get("images", 0)
    if not isinstance(images, int) or isinstance(images, bool) or images < 0:
        raise ValueError(f"evaluation of {version}: images must be a count; got {images!r}")
    classes = answer.get("per_class") or {}
    if not isinstance(classes, Mapping):
        raise ValueError(f"evaluation of {version}: per_class must be an object")
    per_class = {}
    for name, measures in classes.items():
        best = measures.get("best_threshold") if isinstance(measures, Mapping) else None
        if best is not None:
            per_class[str(name)] = _confidence(best, f"per_class.{name}.best_threshold", version)
    recommended = answer.get("recommended_threshold")
    return Summary(
        str(version),
        images,
        None if recommended is None else _confidence(recommended, "recommended_threshold", version),
        per_class,
    )


def _confidence(value: Any, key: str, version: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"evaluation of {version}: {key} must be a confidence in [0, 1]; got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Policy:
    """A rule's ``from: evaluation`` settings: its ``fallback`` for versions without a measured
    threshold, its ``floor`` (``None``: none) and whether each class gets its own (``per_class``)."""

    fallback: float
    floor: float | None = None
    per_class: bool = False


@dataclass(frozen=True)
class InForce:
    """The thresholds one model version is held to: ``threshold`` for every box (or, with per-class
    thresholds, for the classes the evaluation has none for), ``per_class`` overrides, and where they
    came from (``source``, e.g. "evaluation of v2 on 312 reviewed frames")."""

    model_version: str | None
    threshold: float
    per_class: Mapping[str, float]
    source: str
    evaluated: bool

    def for_class(self, name: str) -> float:
        """The threshold a box of class ``name`` is held to."""
        return self.per_class.get(name, self.threshold)

    def to_json(self) -> dict[str, Any]:
        """For status pages and ``--json``: version, threshold, per-class thresholds and source."""
        return asdict(self)


def resolve(policy: Policy, model_version: str | None, summary: Summary | None) -> InForce:
    """The thresholds in force for ``model_version`` under ``policy``, from its evaluation
    ``summary`` (``None``: none known). Never below ``policy.floor``; the source says when the floor
    raised a measured value, and why the fallback applies."""
    version = "unknown" if model_version is None else f"v{model_version}"
    if summary is None or summary.recommended is None:
        why = (
            f"no evaluation for {version}"
            if summary is None
            else f"evaluation of {version} has no threshold yet ({_frames(summary.images)})"
        )
        return InForce(model_version, _floored(policy, policy.fallback), {}, f"fallback: {why}", False)
    threshold = _floored(policy, summary.recommended)
    per_class = (
        {name: _floored(policy, t) for name, t in sorted(summary.per_class.items())}
        if policy.per_class
        else {}
    )
    source = f"evaluation of {version} on {_frames(summary.images)}"
    raised = [n for n, t in summary.per_class.items() if policy.per_class and t < per_class[n]]
    if threshold > summary.recommended:
        source += f", its {summary.recommended:.2f} raised to the floor {policy.floor:.2f}"
    elif raised:
        source += f", {', '.join(sorted(raised))} raised to the floor {policy.floor:.2f}"
    return InForce(model_version, threshold, per_class, source, True)


def _floored(policy: Policy, value: float) -> float:
    return value if policy.floor is None else max(policy.floor, value)


def _frames(n: int) -> str:
    return f"{n} reviewed frame{'' if n == 1 else 's'}"


class EvaluationBook:
    """The evaluation summaries known here, per model version; written by one thread (the collector's
    thresholds sync), read by the sampling thread (each read sees a whole summary or none)."""

    def __init__(self, summaries: Mapping[str, Summary] | None = None) -> None:
        self._lock = threading.Lock()
        self._summaries: dict[str, Summary] = dict(summaries or {})

    def get(self, model_version: str | None) -> Summary | None:
        """The summary of ``model_version``, or ``None``."""
        if model_version is None:
            return None
        with self._lock:
            return self._summaries.get(str(model_version))

    def put(self, summary: Summary) -> None:
        """Keep ``summary`` as its version's (replacing an older one)."""
        with self._lock:
            self._summaries[summary.model_version] = summary

    def forget(self, model_version: str) -> None:
        """The server knows no such version (any more): it falls back."""
        with self._lock:
            self._summaries.pop(model_version, None)

    def versions(self) -> dict[str, Summary]:
        """Every known summary by version."""
        with self._lock:
            return dict(self._summaries)
