"""``threshold_schedule`` with ``from: evaluation``: each model version is held to the F1-optimal
confidence measured for it on the team's reviewed frames (`framescout.sampling.evaluated`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from framescout.sampling.evaluated import EvaluationBook, InForce, Policy, Summary, resolve
from framescout.sampling.frame import Frame
from framescout.sampling.rules.base import Rule


class EvaluatedSchedule(Rule):
    """Keep a frame when a box is below the threshold in force for the frame's model version: that
    version's ``recommended_threshold`` (or, with ``per_class``, its class's ``best_threshold``),
    never below ``floor``; ``fallback`` while the version has no evaluation.

    The evaluations come from the `EvaluationBook` given to `use_book` (a collector's thresholds sync
    fills it from the server); without one every version falls back. The book is private state: a
    rules swap keeps it, and it is not part of the rule's fingerprint."""

    kind = "threshold_schedule"

    def __init__(
        self,
        *,
        fallback: float,
        floor: float | None = None,
        per_class: bool = False,
        classes: Iterable[str] | None = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if floor is not None and fallback < floor:
            raise ValueError(f"fallback {fallback} is below the floor {floor}")
        self.policy = Policy(fallback, floor, per_class)
        self.classes = None if classes is None else frozenset(classes)
        self._book = EvaluationBook()
        self._resolved: dict[str | None, tuple[Summary | None, InForce]] = {}

    def use_book(self, book: EvaluationBook) -> None:
        """Read the evaluations from ``book`` from now on."""
        self._book = book
        self._resolved = {}

    def in_force(self, model_version: str | None) -> InForce:
        """The thresholds frames predicted by ``model_version`` are held to now, and their source."""
        summary = self._book.get(model_version)
        cached = self._resolved.get(model_version)
        if cached is not None and cached[0] is summary:
            return cached[1]
        resolved = resolve(self.policy, model_version, summary)
        self._resolved[model_version] = (summary, resolved)
        return resolved

    def check(self, frame: Frame) -> str | None:
        p = frame.predictions
        if not len(p):
            return None
        force = self.in_force(frame.model_version)
        names = p.class_name
        looked = (
            np.ones(len(p), dtype=bool)
            if self.classes is None
            else np.fromiter((n in self.classes for n in names), dtype=bool, count=len(p))
        )
        if force.per_class:
            limit = np.fromiter((force.for_class(n) for n in names), dtype=np.float64, count=len(p))
        else:
            limit = np.full(len(p), force.threshold)
        below = looked & (p.confidence < limit)
        hits = int(np.count_nonzero(below))
        if not hits:
            return None
        i = int(np.argmax(below))
        version = frame.model_version or "unknown"
        which = f" for {names[i]}" if force.per_class and names[i] in force.per_class else ""
        return (
            f"{hits} box(es) below {limit[i]:.2f}, the threshold for model version {version}{which} "
            f"({force.source})"
        )
