"""Count rules: how many boxes, which classes are present, and every Nth detection of a class."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from framescout.predictions import Predictions
from framescout.sampling.frame import Frame
from framescout.sampling.rules.base import Rule, fmt_classes


def _count(predictions: Predictions, classes: frozenset[str] | None, min_confidence: float) -> int:
    if classes is None and min_confidence <= 0:
        return len(predictions)
    return sum(
        1
        for name, c in zip(predictions.class_name, predictions.confidence.tolist(), strict=True)
        if (classes is None or name in classes) and c >= min_confidence
    )


class DetectionCount(Rule):
    """Keep a frame whose box count (optionally of some classes) is above ``more_than`` or below
    ``less_than`` — crowded scenes, or scenes where objects went missing."""

    kind = "detection_count"

    def __init__(
        self,
        *,
        more_than: int | None = None,
        less_than: int | None = None,
        classes: Iterable[str] | None = None,
        min_confidence: float = 0.0,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if more_than is None and less_than is None:
            raise ValueError("detection_count needs more_than, less_than or both")
        self.more_than, self.less_than = more_than, less_than
        self.classes = None if classes is None else frozenset(classes)
        self.min_confidence = min_confidence

    def check(self, frame: Frame) -> str | None:
        n = _count(frame.predictions, self.classes, self.min_confidence)
        what = f" {fmt_classes(self.classes)}" if self.classes else ""
        if self.more_than is not None and n > self.more_than:
            return f"{n}{what} detection(s), more than {self.more_than}"
        if self.less_than is not None and n < self.less_than:
            return f"{n}{what} detection(s), fewer than {self.less_than}"
        return None


class ClassesPresent(Rule):
    """Keep a frame showing any of ``any_of`` and/or all of ``all_of`` (rare classes, combinations)."""

    kind = "classes_present"

    def __init__(
        self,
        *,
        any_of: Iterable[str] = (),
        all_of: Iterable[str] = (),
        min_confidence: float = 0.0,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.any_of, self.all_of = frozenset(any_of), frozenset(all_of)
        if not self.any_of and not self.all_of:
            raise ValueError("classes_present needs any_of, all_of or both")
        self.min_confidence = min_confidence

    def check(self, frame: Frame) -> str | None:
        p = frame.predictions
        present = p.names_present
        if self.min_confidence > 0 and len(p):
            present = frozenset(
                n for n, c in zip(p.class_name, p.confidence, strict=True) if c >= self.min_confidence
            )
        if self.all_of and not self.all_of <= present:
            return None
        if self.any_of and not (self.any_of & present):
            return None
        return f"classes present: {fmt_classes((self.any_of | self.all_of) & present)}"


class EveryNth(Rule):
    """Keep the frame holding every Nth detection of a class (counted across frames), so a class
    that appears constantly is sampled at a steady, bounded rate."""

    kind = "every_nth"
    sees_every_frame = True

    def __init__(self, class_name: str, n: int, *, min_confidence: float = 0.0, **common: Any) -> None:
        super().__init__(**common)
        if n < 1:
            raise ValueError(f"n must be at least 1; got {n}")
        self.class_name, self.n, self.min_confidence = class_name, n, min_confidence
        self._seen = 0

    def reset(self, seed: int | None) -> None:
        self._seen = 0

    def check(self, frame: Frame) -> str | None:
        p = frame.predictions
        if self.class_name not in p.names_present:
            return None
        added = _count(p, frozenset((self.class_name,)), self.min_confidence)
        before, self._seen = self._seen, self._seen + added
        if self._seen // self.n == before // self.n:
            return None
        return f"{self.class_name} detection #{self._seen // self.n * self.n} (every {self.n})"
