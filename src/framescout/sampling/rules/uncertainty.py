"""Keep frames whose uncertainty score (least confidence, margin, entropy) is high."""

from __future__ import annotations

from typing import Any

from framescout.sampling.frame import Frame
from framescout.sampling.rules.base import Rule
from framescout.sampling.uncertainty import SCORERS, Aggregate


class UncertaintyAbove(Rule):
    """Keep a frame when ``measure`` aggregated over its boxes is at least ``threshold``."""

    kind = "uncertainty"

    def __init__(
        self,
        measure: str,
        threshold: float,
        *,
        aggregate: Aggregate = "max",
        empty: float = 0.0,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if measure not in SCORERS:
            raise ValueError(f"unknown uncertainty measure {measure!r}; use one of {sorted(SCORERS)}")
        self.measure, self.threshold, self.aggregate, self.empty = measure, threshold, aggregate, empty
        self._score = SCORERS[measure]

    def check(self, frame: Frame) -> str | None:
        score = self._score(frame.predictions, self.aggregate, self.empty)
        if score < self.threshold:
            return None
        return f"{self.aggregate} {self.measure.replace('_', ' ')} {score:.2f} ≥ {self.threshold:.2f}"
