"""COCO-style evaluation of a model version's predictions against reviewed ground truth, in NumPy:
the same AP and AP50 as pycocotools (tested to 0.001), per-class precision/recall/F1 at the
F1-optimal confidence, the recommended threshold, PR curves, a confusion matrix with background and
the images behind each error. See docs/evaluation.md ("How evaluation is computed")."""

from framescout.evaluation.ap import COCO_IOU_THRESHOLDS, RECALL_POINTS
from framescout.evaluation.evaluate import MAX_DETECTIONS, evaluate
from framescout.evaluation.inputs import EvalImage
from framescout.evaluation.results import (
    ClassErrors,
    ClassMetrics,
    Confusion,
    ConfusionCell,
    Evaluation,
    OverallPoint,
    PrCurve,
)

__all__ = [
    "COCO_IOU_THRESHOLDS",
    "MAX_DETECTIONS",
    "RECALL_POINTS",
    "ClassErrors",
    "ClassMetrics",
    "Confusion",
    "ConfusionCell",
    "EvalImage",
    "Evaluation",
    "OverallPoint",
    "PrCurve",
    "evaluate",
]
