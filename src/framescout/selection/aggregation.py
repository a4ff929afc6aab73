"""From per-box uncertainty to one score per image: expected errors, box-aware and class-aware.

A detector's mistakes are per box, and so is the cost of labelling. Each predicted box gets a
calibrated probability of being a real object, ``p = sigmoid(SHARPNESS * logit(confidence))``;
NanoDet-m's scores are under-confident on both sides (of its boxes scoring 0.6-0.7 on coco-tiny's
train half, 11% are false positives where ``1 - confidence`` says 35%; of its boxes scoring
0.1-0.15, 1.2% are real where the confidence says 12%), and a sharpness of 2 matches both. Then:

- a **reported** box (confidence >= `REPORTED`, what the model would show) is a false positive with
  probability ``1 - p``;
- an unreported box is a real object the model missed with probability ``p``;
- with `Stability` (part of the selection pipeline when views are scored), a base box's
  disagreement across views ``s`` lowers its chance of being right, ``p * (1 - STABILITY_WEIGHT * s)``,
  and each box another view found and the base view did not adds its calibrated confidence to the
  expected misses;
- each box's chance of error is multiplied by its class weight (`class_weights`: rare or weak
  classes of the labelled set count more).

Summed, these are the image's **expected errors**; ``p`` summed over reported and unreported boxes
is its **expected objects** (the boxes a labeller draws). Three aggregations rank a pool:

- ``sum``: expected errors (finds the most mistakes per image; favours crowded scenes);
- ``mean``: expected errors per expected object (the most mistakes per labelled box; favours an
  image with one doubtful box);
- ``normalised``: expected errors / (expected objects + `PRIOR_BOXES`): ``mean`` shrunk towards
  ``sum`` for images with few objects, the compromise between per-image and per-box yield.

Why each choice, with the measurements, is in docs/selection.md ("Box-aware selection")."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from framescout.predictions import Predictions

if TYPE_CHECKING:
    from framescout.selection.stability import Stability

BoxAggregate = Literal["sum", "mean", "normalised"]
AGGREGATES: tuple[BoxAggregate, ...] = ("sum", "mean", "normalised")

REPORTED = 0.35
"""Boxes at or above this confidence count as reported: a wrong one is a false positive, and the
box budget counts them as the boxes to label (the benchmark counts errors at the same threshold)."""
SHARPNESS = 2.0
"""Logit scale that calibrates detector confidences (measured on NanoDet-m, coco-tiny train half)."""
PRIOR_BOXES = 3.0
"""``normalised`` divides by expected objects + this many: a prior that keeps an image with a single
faint box from outranking a busy image full of doubtful ones."""
STABILITY_WEIGHT = 0.5
"""How much a base box's disagreement across views lowers its chance of being right."""
_EPS = 1e-6


@dataclass(frozen=True)
class ImageErrors:
    """One image's expected errors and where they come from (the parts an explanation shows)."""

    false_positives: float
    """Sum over reported boxes of the chance each is wrong (class-weighted)."""
    misses: float
    """Sum over unreported boxes (and boxes only other views found) of the chance each is a real,
    missed object (class-weighted)."""
    objects: float
    """Expected real objects: the calibrated probabilities summed (what a labeller will draw)."""
    reported: int
    """Boxes at or above `REPORTED`: the expected boxes to label in a box budget."""
    class_weight: float
    """Mean class weight over the reported boxes (1 without class weights)."""
    stability: float | None
    """Mean disagreement across views of the reported boxes (None without views)."""
    only_in_other_views: int
    """Boxes at or above `REPORTED` that another view found and the base view did not."""
    doubtful: tuple[tuple[str, float, float], ...]
    """Up to three boxes that add the most expected error: (class, confidence, chance of error)."""

    @property
    def errors(self) -> float:
        return self.false_positives + self.misses

    def score(self, aggregate: BoxAggregate) -> float:
        """The image's rank score under ``aggregate`` (see the module docstring)."""
        if aggregate == "sum":
            return self.errors
        if aggregate == "mean":
            return self.errors / max(self.objects, 1.0)
        if aggregate == "normalised":
            return self.errors / (self.objects + PRIOR_BOXES)
        raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}; got {aggregate!r}")

    def components(self, aggregate: BoxAggregate) -> dict[str, float]:
        """The parts of the score, as the JSON explanation shows them."""
        parts = {
            "score": self.score(aggregate),
            "expected_errors": self.errors,
            "expected_false_positives": self.false_positives,
            "expected_misses": self.misses,
            "expected_objects": self.objects,
            "reported_boxes": float(self.reported),
            "class_weight": self.class_weight,
        }
        if self.stability is not None:
            parts["stability"] = self.stability
            parts["only_in_other_views"] = float(self.only_in_other_views)
        return parts


def calibrated(confidence: NDArray[np.float64], sharpness: float = SHARPNESS) -> NDArray[np.float64]:
    """``sigmoid(sharpness * logit(confidence))``: the chance a box is a real object."""
    c = np.clip(np.asarray(confidence, dtype=np.float64), _EPS, 1.0 - _EPS)
    return np.asarray(1.0 / (1.0 + ((1.0 - c) / c) ** sharpness), dtype=np.float64)


def box_error_chances(
    p: Predictions,
    stability: Stability | None = None,
    class_weights: Mapping[str, float] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per box of ``p``: (chance it is an error, chance it is a real object), class-weighted error."""
    real = calibrated(p.confidence)
    if stability is not None and len(stability.box_scores) == len(real):
        real = real * (1.0 - STABILITY_WEIGHT * np.clip(stability.box_scores, 0.0, 1.0))
    reported = p.confidence >= REPORTED
    chance = np.where(reported, 1.0 - real, real)
    if class_weights:
        chance = chance * np.fromiter(
            (class_weights.get(name, 1.0) for name in p.class_name), dtype=np.float64, count=len(p)
        )
    return chance, real


def image_errors(
    p: Predictions,
    stability: Stability | None = None,
    class_weights: Mapping[str, float] | None = None,
) -> ImageErrors:
    """Expected errors of one image (see the module docstring)."""
    chance, real = box_error_chances(p, stability, class_weights)
    reported = p.confidence >= REPORTED
    false_positives = float(chance[reported].sum())
    misses = float(chance[~reported].sum())
    objects = float(real.sum())
    others = 0
    if stability is not None and len(stability.only_in_other_views):
        extra = calibrated(stability.only_in_other_views)
        misses += float(extra.sum())
        objects += float(extra.sum())
        others = int((stability.only_in_other_views >= REPORTED).sum())
    weights = (
        [class_weights.get(name, 1.0) for name, r in zip(p.class_name, reported, strict=True) if r]
        if class_weights
        else []
    )
    top = np.argsort(-chance, kind="stable")[:3]
    return ImageErrors(
        false_positives=false_positives,
        misses=misses,
        objects=objects,
        reported=int(reported.sum()),
        class_weight=float(np.mean(weights)) if weights else 1.0,
        stability=_mean_disagreement(stability, reported),
        only_in_other_views=others,
        doubtful=tuple((p.class_name[i], float(p.confidence[i]), float(chance[i])) for i in top),
    )


def _mean_disagreement(stability: Stability | None, reported: NDArray[np.bool_]) -> float | None:
    if stability is None:
        return None
    scores = np.asarray(stability.box_scores, dtype=np.float64)
    if len(scores) != len(reported) or not reported.any():
        return 0.0
    return float(scores[reported].mean())


def pool_errors(
    predictions: Sequence[Predictions],
    stability: Sequence[Stability] | None = None,
    class_weights: Mapping[str, float] | None = None,
) -> list[ImageErrors]:
    """`image_errors` for every image of a pool (``stability`` aligned with ``predictions``)."""
    if stability is not None and len(stability) != len(predictions):
        raise ValueError(f"{len(stability)} stability entries for {len(predictions)} predictions")
    return [
        image_errors(p, None if stability is None else stability[i], class_weights)
        for i, p in enumerate(predictions)
    ]


def class_weights(
    counts: Mapping[str, int],
    ap: Mapping[str, float | None] | None = None,
    *,
    floor: float = 0.5,
    ceiling: float = 3.0,
) -> dict[str, float]:
    """Per-class weights from the labelled set, clipped to [floor, ceiling]: a weak class counts more,
    ``2 - AP`` where an evaluation gives it an AP (AP50 is the natural choice: the error count is at
    IoU 0.5); a class without one counts more the rarer it is, ``sqrt(median count / count)``, and
    one the labelled set never saw gets the ceiling. An AP already says how rarity hurts the model,
    so it replaces the rarity term (both together cost per-image yield on coco-tiny,
    docs/selection.md). Classes absent here weigh 1."""
    if not counts and not ap:
        return {}
    seen = [c for c in counts.values() if c > 0]
    median = float(np.median(seen)) if seen else 1.0
    names = set(counts) | set(ap or {})
    weights = {}
    for name in sorted(names):
        count = counts.get(name, 0)
        score = (ap or {}).get(name)
        if score is not None:
            weight = 2.0 - min(max(score, 0.0), 1.0)
        else:
            weight = (median / count) ** 0.5 if count > 0 else ceiling
        weights[name] = float(min(max(weight, floor), ceiling))
    return weights


def class_weights_from_json(data: Mapping[str, object]) -> dict[str, float]:
    """`class_weights` from an evaluation (``framescout evaluate --json``: each class's ``support``
    and ``ap50`` in ``per_class``) or a COCO annotations file (class counts only). Raises
    `ValueError` for anything else."""
    if not isinstance(data, Mapping):
        raise ValueError(
            f"expected a JSON object (an evaluation or COCO annotations); got {type(data).__name__}"
        )
    per_class = data.get("per_class")
    if isinstance(per_class, Mapping):
        counts, ap = {}, {}
        for name, row in per_class.items():
            if isinstance(row, Mapping):
                support = _finite(row.get("support") or 0, f"per_class[{name!r}].support", 0.0, None)
                value = row.get("ap50")
                ap[str(name)] = (
                    None if value is None else _finite(value, f"per_class[{name!r}].ap50", 0.0, 1.0)
                )
                counts[str(name)] = int(support)
        return class_weights(counts, ap)
    categories, annotations = data.get("categories"), data.get("annotations")
    if isinstance(categories, list) and isinstance(annotations, list):
        if not all(
            isinstance(c, Mapping) and isinstance(c.get("id"), int | str) and "name" in c for c in categories
        ):
            raise ValueError("every COCO category needs an id (a number or a string) and a name")
        names = {c["id"]: str(c["name"]) for c in categories}
        found = Counter(
            names.get(_hashable_id(a.get("category_id")), "") for a in annotations if isinstance(a, Mapping)
        )
        found.pop("", None)
        return class_weights({name: found.get(name, 0) for name in names.values()})
    raise ValueError("expected an evaluation (per_class) or COCO annotations (categories, annotations)")


def _finite(value: object, where: str, low: float, high: float | None) -> float:
    """``value`` as a finite number within [low, high]; `ValueError` naming ``where`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number; got {value!r}")
    if value < low or (high is not None and value > high):
        span = f"[{low:g}, {high:g}]" if high is not None else f">= {low:g}"
        raise ValueError(f"{where} must be {span}; got {value!r}")
    return float(value)


def _hashable_id(value: object) -> object:
    """A COCO id as a dictionary key (ids are ints or strings; anything else matches nothing)."""
    return value if isinstance(value, int | str) else None
