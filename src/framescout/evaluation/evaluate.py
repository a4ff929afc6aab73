"""`evaluate`: COCO evaluation of one model version's predictions against ground truth, as
pycocotools' ``COCOeval`` (bbox, area "all", maxDets 100) computes it, plus the operating points
(F1-optimal thresholds), the PR curves, the confusion matrix and the errors behind it.

Steps: flatten the images to arrays (`inputs`); keep each image's `max_detections` best predictions
per class; match them greedily to truth of their image and class at every IoU threshold
(`matching`); per class, read precision at the 101 recall points (`ap`) and the F1-optimal threshold
(`thresholds`); at IoU 0.5, pool all classes for the recommended threshold and the overall curve,
and build the confusion matrix at that threshold (`confusion`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from framescout.evaluation.ap import COCO_IOU_THRESHOLDS, Interpolated, interpolated_precision
from framescout.evaluation.confusion import confusion
from framescout.evaluation.inputs import BoolArray, EvalImage, FloatArray, IntArray, flatten
from framescout.evaluation.matching import match, ranks
from framescout.evaluation.results import ClassMetrics, Evaluation, OverallPoint, PrCurve
from framescout.evaluation.thresholds import best_f1

MAX_DETECTIONS = 100
"""COCO's maxDets: at most this many predictions per image *and class* count (the highest scored)."""


def evaluate(
    images: Sequence[EvalImage],
    *,
    iou_thresholds: Sequence[float] = COCO_IOU_THRESHOLDS,
    max_detections: int = MAX_DETECTIONS,
    confusion_confidence: float | None = None,
) -> Evaluation:
    """Evaluate the images' predictions against their truth. ``iou_thresholds`` are those AP
    averages over (AP50 and everything else is at IoU 0.5 whether listed or not); the confusion
    matrix counts predictions scoring ≥ ``confusion_confidence``, by default the recommended
    threshold. ValueError on a duplicate image id, a prediction without confidence, or no threshold."""
    if not iou_thresholds or any(not 0 <= t <= 1 for t in iou_thresholds):
        raise ValueError("iou_thresholds must be a non-empty list of numbers in [0, 1]")
    if max_detections < 1:
        raise ValueError("max_detections must be at least 1")
    flat = flatten(images)
    dt, gt, k = flat.predictions, flat.truth, len(flat.classes)
    thresholds = np.array([0.5, *iou_thresholds], dtype=np.float64)
    averaged = np.arange(1, len(thresholds))
    _, rank = ranks(dt.image * k + dt.label, dt.score)
    kept = rank < max_detections
    gt_ignore = gt.crowd | gt.out_of_range
    keep = np.flatnonzero(kept)
    matches = match(
        dt_group=(dt.image * k + dt.label)[keep],
        dt_score=dt.score[keep],
        dt_xywh=dt.xywh[keep],
        gt_group=gt.image * k + gt.label,
        gt_xywh=gt.xywh,
        gt_ignore=gt_ignore,
        gt_crowd=gt.crowd,
        thresholds=thresholds,
    )
    matched = matches.truth >= 0
    ignored = matches.ignored | (~matched & dt.out_of_range[keep])
    tp, fp = matched & ~ignored, ~matched & ~ignored
    # pycocotools' order within a class: descending score, ties by image order, then box order
    # (the input order of `keep`, so stable sorts keep it).
    pooled = np.argsort(-dt.score[keep], kind="stable")
    order = pooled[np.argsort(dt.label[keep][pooled], kind="stable")]
    labels = dt.label[keep][order]
    scores = dt.score[keep][order]
    tp, fp = tp[:, order], fp[:, order]
    support = np.bincount(gt.label[~gt_ignore], minlength=k)
    bounds = np.searchsorted(labels, np.arange(k + 1))
    per_class, curves, precisions = {}, {}, []
    for label, name in enumerate(flat.classes):
        part = slice(bounds[label], bounds[label + 1])
        point = best_f1(scores[part], tp[0, part], fp[0, part], int(support[label]))
        ap = ap50 = None
        if support[label]:
            curve = interpolated_precision(tp[:, part], fp[:, part], scores[part], int(support[label]))
            precisions.append(curve.precision)
            ap, ap50 = float(curve.precision[averaged].mean()), float(curve.precision[0].mean())
            curves[name] = _curve(curve)
        per_class[name] = ClassMetrics(
            ap, ap50, point.precision, point.recall, point.f1, point.threshold, int(support[label])
        )
    overall = _overall(dt.score[keep][pooled], tp[0], fp[0], order, pooled, int(support.sum()))
    stacked = np.stack(precisions) if precisions else np.zeros((0, len(thresholds), 1))
    counted = np.zeros(len(dt), dtype=np.bool_)
    counted[keep] = ~ignored[0]
    truth50 = np.full(len(dt), -1, dtype=np.intp)
    truth50[keep] = matches.truth[0]
    table, errors = confusion(
        flat,
        counted=counted,
        truth50=truth50,
        gt_ignore=gt_ignore,
        confidence=overall[0].threshold if confusion_confidence is None else confusion_confidence,
    )
    return Evaluation(
        images=len(images),
        ground_truth_boxes=len(gt),
        predictions=len(dt),
        iou_thresholds=tuple(float(t) for t in iou_thresholds),
        max_detections=max_detections,
        ap=float(stacked[:, averaged].mean()) if precisions else None,
        ap50=float(stacked[:, 0].mean()) if precisions else None,
        per_class=per_class,
        recommended_threshold=overall[0].threshold,
        overall=overall[0],
        pr_curve=overall[1],
        class_curves=curves,
        confusion=table,
        errors=errors,
    )


def _overall(
    scores: FloatArray, tp: BoolArray, fp: BoolArray, by_class: IntArray, pooled: IntArray, positives: int
) -> tuple[OverallPoint, PrCurve]:
    """All classes pooled at IoU 0.5 (``tp``/``fp`` are in ``by_class`` order; re-sort to ``pooled``)."""
    position = np.empty_like(by_class)
    position[by_class] = np.arange(len(by_class))
    tp, fp = tp[position[pooled]], fp[position[pooled]]
    point = best_f1(scores, tp, fp, positives)
    if positives == 0:
        empty = PrCurve(tuple(0.0 for _ in range(101)), tuple(None for _ in range(101)))
        return OverallPoint(None, point.precision, None, None), empty
    curve = interpolated_precision(tp[None], fp[None], scores, positives)
    return OverallPoint(point.threshold, point.precision, point.recall, point.f1), _curve(curve)


def _curve(curve: Interpolated) -> PrCurve:
    """The IoU 0.5 row of a class's curves, NaN-free."""
    confidence = curve.confidence[0]
    return PrCurve(
        tuple(curve.precision[0].tolist()),
        tuple(None if np.isnan(c) else c for c in confidence.tolist()),
    )
