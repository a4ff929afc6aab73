"""THROW-AWAY stand-in for part 1's `framescout.evaluation` (issue 15), installed by tests/conftest.py
only while the real package is missing; deleted once it is on main."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from framescout.predictions.box import Box


@dataclass(frozen=True)
class EvalImage:
    image_id: str
    truth: list[Box]
    predictions: list[Box]


@dataclass(frozen=True)
class Evaluation:
    images: Sequence[EvalImage]

    def to_json(self) -> dict[str, Any]:
        truth = sum(len(i.truth) for i in self.images)
        hits = sum(
            1
            for i in self.images
            for t in i.truth
            if any(p.class_name == t.class_name for p in i.predictions)
        )
        score = hits / truth if truth else None
        return {
            "ground_truth_boxes": truth,
            "predictions": sum(len(i.predictions) for i in self.images),
            "ap": score,
            "ap50": score,
            "per_class": {},
            "recommended_threshold": 0.5 if truth else None,
            "overall": {"threshold": None, "precision": None, "recall": None, "f1": None},
            "pr_curve": [],
        }


def evaluate(images: Sequence[EvalImage], **_: Any) -> Evaluation:
    return Evaluation(images)
