"""Roboflow's active-learning conditionals, with the same keys and semantics as
``roboflow.Workspace.active_learning`` (roboflow/util/active_learning_utils.py):

1. the frame needs at least ``required_objects_count`` boxes, and when ``target_classes`` is not
   empty, at least ``required_class_count`` boxes of those classes;
2. then some single box must pass all of: ``minimum_size_requirement < width * height <
   maximum_size_requirement`` (pixels, strict), ``confidence_interval[0] <= confidence * 100 <=
   confidence_interval[1]`` (percent, inclusive), and class in ``target_classes`` (when not empty).

The similarity keys are accepted here and enforced by the novelty rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from framescout.sampling.frame import Frame
from framescout.sampling.rules.base import Rule, fmt_classes


class RoboflowConditionals(Rule):
    """The guide's ``conditionals`` dict as a rule; defaults are Roboflow's."""

    kind = "conditionals"

    def __init__(
        self,
        *,
        required_objects_count: int = 1,
        required_class_count: int = 0,
        target_classes: Sequence[str] = (),
        minimum_size_requirement: float = float("-inf"),
        maximum_size_requirement: float = float("inf"),
        confidence_interval: Sequence[float] = (30, 99),
        similarity_confidence_threshold: float | None = None,
        similarity_timeout_limit: int | None = None,
        required_class_variance_count: int | None = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        low, high = confidence_interval
        if low > high:
            raise ValueError(f"confidence_interval low ({low}) is above high ({high})")
        self.required_objects_count = required_objects_count
        self.required_class_count = required_class_count
        self.target_classes = frozenset(target_classes)
        self.minimum_size_requirement = minimum_size_requirement
        self.maximum_size_requirement = maximum_size_requirement
        self.confidence_interval = (low, high)
        self.similarity_confidence_threshold = similarity_confidence_threshold
        self.similarity_timeout_limit = similarity_timeout_limit

    def check(self, frame: Frame) -> str | None:
        p = frame.predictions
        n = len(p)
        if n < self.required_objects_count or n == 0:
            return None
        in_target = None
        if self.target_classes:
            if not (p.names_present & self.target_classes):
                return None
            in_target = np.fromiter((c in self.target_classes for c in p.class_name), dtype=bool, count=n)
            if int(in_target.sum()) < self.required_class_count:
                return None
        area = p.area
        pct = p.confidence * 100
        low, high = self.confidence_interval
        ok = (area > self.minimum_size_requirement) & (area < self.maximum_size_requirement)
        ok &= (pct >= low) & (pct <= high)
        if in_target is not None:
            ok &= in_target
        if not ok.any():
            return None
        i = int(np.argmax(ok))
        where = f" of {fmt_classes(self.target_classes)}" if self.target_classes else ""
        return (
            f"conditionals met{where}: {p.class_name[i]} at {pct[i]:.0f}% "
            f"in [{low:g}, {high:g}]%, area {area[i]:.0f} px"
        )
