"""The result types of `evaluate`: plain frozen dataclasses of Python numbers (no NumPy, no NaN: a
value that is undefined is None), so they serialise as they are (`Evaluation.to_json`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ClassMetrics:
    """One class: COCO AP and AP50 (None without truth boxes), and precision, recall and F1 at its
    F1-optimal confidence ``best_threshold`` at IoU 0.5 (None where undefined, see `OperatingPoint`)."""

    ap: float | None
    ap50: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    best_threshold: float | None
    support: int
    """Truth boxes of the class that count (crowd boxes do not)."""


@dataclass(frozen=True)
class OverallPoint:
    """Precision, recall and F1 of all classes pooled at the recommended threshold (IoU 0.5)."""

    threshold: float | None
    precision: float | None
    recall: float | None
    f1: float | None


@dataclass(frozen=True)
class PrCurve:
    """Interpolated precision at the 101 COCO recall points (IoU 0.5), and the confidence at which each
    recall is reached (None where it never is; the precision there is 0)."""

    precision: tuple[float, ...]
    confidence: tuple[float | None, ...]


@dataclass(frozen=True)
class ConfusionCell:
    """One non-empty cell of the confusion matrix: boxes of class ``truth`` predicted as ``predicted``
    (None: background, i.e. a false positive when ``truth`` is None, a miss when ``predicted`` is)."""

    truth: str | None
    predicted: str | None
    count: int
    image_ids: tuple[str, ...]
    """The images with such boxes, the most such boxes first (then input order)."""


@dataclass(frozen=True)
class Confusion:
    """The confusion matrix at IoU 0.5 over the predictions scoring ≥ ``confidence`` (None: all)."""

    confidence: float | None
    classes: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]
    """(K+1)×(K+1): rows are truth classes, columns predicted classes, index K is background."""
    cells: tuple[ConfusionCell, ...]


@dataclass(frozen=True)
class ClassErrors:
    """A class's errors at the confusion matrix's confidence: its false positives (predictions of the
    class matching no truth box of it, class confusions included) and its misses (truth boxes of the
    class no prediction of it matched), each with the images behind them, worst first."""

    false_positives: int
    misses: int
    false_positive_images: tuple[tuple[str, int], ...]
    missed_images: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Evaluation:
    """Everything `evaluate` measured. `to_json` gives the evaluation route's fields."""

    images: int
    ground_truth_boxes: int
    predictions: int
    iou_thresholds: tuple[float, ...]
    max_detections: int
    ap: float | None
    ap50: float | None
    per_class: Mapping[str, ClassMetrics]
    recommended_threshold: float | None
    overall: OverallPoint
    pr_curve: PrCurve
    class_curves: Mapping[str, PrCurve]
    confusion: Confusion
    errors: Mapping[str, ClassErrors]

    def to_json(self, *, image_id_limit: int = 100) -> dict[str, Any]:
        """The JSON object of the evaluation route (without ``model_version`` and ``images``, which
        the caller adds); lists of image ids are cut to ``image_id_limit`` (counts stay whole)."""
        from framescout.evaluation.report import evaluation_json

        return evaluation_json(self, image_id_limit=image_id_limit)
