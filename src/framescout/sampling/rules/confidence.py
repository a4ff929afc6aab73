"""Confidence rules: low-confidence boxes, boxes in an interval or near a threshold, per-class
thresholds, a threshold schedule keyed to the model version, and "nothing detected"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from framescout.predictions import Predictions
from framescout.sampling.frame import Frame
from framescout.sampling.rules.base import Rule


def _restrict(predictions: Predictions, classes: frozenset[str] | None) -> Any:
    """Confidences of the boxes the rule looks at (all, or only the listed classes)."""
    if classes is None:
        return predictions.confidence
    if not (predictions.names_present & classes):
        return predictions.confidence[:0]
    mask = np.fromiter((n in classes for n in predictions.class_name), dtype=bool, count=len(predictions))
    return predictions.confidence[mask]


class _ConfidenceRule(Rule):
    def __init__(self, *, classes: Iterable[str] | None = None, **common: Any) -> None:
        super().__init__(**common)
        self.classes = None if classes is None else frozenset(classes)


class ConfidenceBelow(_ConfidenceRule):
    """Keep a frame when at least one box is strictly below ``threshold`` (the guide's approach 2)."""

    kind = "confidence_below"

    def __init__(self, threshold: float, **common: Any) -> None:
        super().__init__(**common)
        self.threshold = threshold

    def check(self, frame: Frame) -> str | None:
        conf = _restrict(frame.predictions, self.classes)
        hits = int(np.count_nonzero(conf < self.threshold))
        if not hits:
            return None
        return f"{hits} box(es) below confidence {self.threshold:.2f} (lowest {conf.min():.2f})"


class ConfidenceBetween(_ConfidenceRule):
    """Keep a frame when at least ``min_count`` boxes have a confidence in ``[low, high]`` (inclusive)."""

    kind = "confidence_between"

    def __init__(self, low: float, high: float, *, min_count: int = 1, **common: Any) -> None:
        super().__init__(**common)
        if low > high:
            raise ValueError(f"interval low ({low}) is above high ({high})")
        self.low, self.high, self.min_count = low, high, min_count

    def check(self, frame: Frame) -> str | None:
        conf = _restrict(frame.predictions, self.classes)
        hits = int(np.count_nonzero((conf >= self.low) & (conf <= self.high)))
        if hits < self.min_count:
            return None
        return f"{hits} box(es) with confidence in [{self.low:.2f}, {self.high:.2f}]"


class ConfidenceNear(_ConfidenceRule):
    """Keep a frame with at least ``min_count`` boxes within ``epsilon`` of ``threshold``: the
    decisions the model is least sure of, right at its operating point."""

    kind = "confidence_near"

    def __init__(self, threshold: float, epsilon: float, *, min_count: int = 1, **common: Any) -> None:
        super().__init__(**common)
        self.threshold, self.epsilon, self.min_count = threshold, epsilon, min_count

    def check(self, frame: Frame) -> str | None:
        conf = _restrict(frame.predictions, self.classes)
        hits = int(np.count_nonzero(np.abs(conf - self.threshold) <= self.epsilon))
        if hits < self.min_count:
            return None
        return f"{hits} box(es) within ±{self.epsilon:.2f} of {self.threshold:.2f}"


class PerClassBelow(Rule):
    """Keep a frame when a box is below its own class's threshold (``default`` for unlisted classes;
    unlisted classes are ignored when there is no default)."""

    kind = "confidence_per_class"

    def __init__(
        self, thresholds: Mapping[str, float], *, default: float | None = None, **common: Any
    ) -> None:
        super().__init__(**common)
        self.thresholds = dict(thresholds)
        self.default = default

    def check(self, frame: Frame) -> str | None:
        p = frame.predictions
        if not len(p):
            return None
        fallback = -1.0 if self.default is None else self.default
        limit = np.fromiter(
            (self.thresholds.get(n, fallback) for n in p.class_name), dtype=np.float64, count=len(p)
        )
        below = p.confidence < limit
        if not below.any():
            return None
        i = int(np.argmax(below))
        return (
            f"{int(below.sum())} box(es) below their class threshold "
            f"(e.g. {p.class_name[i]} {p.confidence[i]:.2f} < {limit[i]:.2f})"
        )


class ThresholdSchedule(_ConfidenceRule):
    """ "Below threshold" where the threshold rises with the deployed model version (the guide:
    40% for the first model, then 50%, later 60-80%).

    Frames from a version not in the schedule use ``default``, or else the last (newest) entry.
    """

    kind = "threshold_schedule"

    def __init__(self, schedule: Mapping[str, float], *, default: float | None = None, **common: Any) -> None:
        super().__init__(**common)
        if not schedule:
            raise ValueError("a threshold schedule needs at least one version")
        self.schedule = {str(k): float(v) for k, v in schedule.items()}
        self.default = default if default is not None else list(self.schedule.values())[-1]

    def threshold_for(self, model_version: str | None) -> float:
        """The threshold in force for frames predicted by ``model_version``."""
        if model_version is None:
            return self.default
        return self.schedule.get(str(model_version), self.default)

    def check(self, frame: Frame) -> str | None:
        threshold = self.threshold_for(frame.model_version)
        conf = _restrict(frame.predictions, self.classes)
        hits = int(np.count_nonzero(conf < threshold))
        if not hits:
            return None
        version = frame.model_version or "unknown"
        return f"{hits} box(es) below {threshold:.2f}, the threshold for model version {version}"


class NothingDetected(Rule):
    """Keep frames on which the model detected nothing (optionally: nothing of the listed classes)."""

    kind = "nothing_detected"

    def __init__(self, *, classes: Iterable[str] | None = None, **common: Any) -> None:
        super().__init__(**common)
        self.classes = None if classes is None else frozenset(classes)

    def check(self, frame: Frame) -> str | None:
        p = frame.predictions
        if self.classes is None:
            return "nothing detected" if not len(p) else None
        if p.names_present & self.classes:
            return None
        return f"none of {', '.join(sorted(self.classes))} detected"
