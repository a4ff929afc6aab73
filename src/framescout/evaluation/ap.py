"""Precision at COCO's 101 recall points and average precision, exactly as pycocotools'
`COCOeval.accumulate` computes them for one class (or for all classes pooled).

The class's predictions are taken in descending score (ties: input order of the images, then of the
boxes); cumulative true and false positives give recall ``tp / positives`` and precision
``tp / (tp + fp + eps)``; precision is made non-increasing from the right (the interpolation), and
at each recall point r the precision of the first prediction reaching recall ≥ r is read (0 when
the predictions never reach r). AP is the mean of those 101 values (and over the IoU thresholds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framescout.evaluation.inputs import BoolArray, FloatArray

RECALL_POINTS: FloatArray = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
"""COCO's recall points 0, 0.01, …, 1 (pycocotools' ``recThrs``, the same floats)."""
COCO_IOU_THRESHOLDS: tuple[float, ...] = tuple(
    float(t) for t in np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
)
"""COCO's IoU thresholds 0.50, 0.55, …, 0.95 (pycocotools' ``iouThrs``, the same floats)."""


@dataclass(frozen=True)
class Interpolated:
    """One class's curves at each IoU threshold, sampled at `RECALL_POINTS`."""

    precision: FloatArray
    """(T, 101) interpolated precision (0 beyond the highest recall reached)."""
    confidence: FloatArray
    """(T, 101) the score of the prediction where each recall point is reached; NaN beyond."""


def interpolated_precision(tp: BoolArray, fp: BoolArray, scores: FloatArray, positives: int) -> Interpolated:
    """pycocotools' interpolated precision for predictions sorted by descending score: ``tp`` and
    ``fp`` are (T, n) flags (a prediction matched to a crowd box is neither); ``positives`` > 0 is
    the number of truth boxes that are not ignored."""
    tp_sum = np.cumsum(tp, axis=1, dtype=np.float64)
    fp_sum = np.cumsum(fp, axis=1, dtype=np.float64)
    recall = tp_sum / positives
    precision = tp_sum / (fp_sum + tp_sum + np.spacing(1))
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    count = tp.shape[1]
    out = np.zeros((tp.shape[0], len(RECALL_POINTS)))
    at = np.full_like(out, np.nan)
    for t in range(tp.shape[0]):
        index = np.searchsorted(recall[t], RECALL_POINTS, side="left")
        reached = index < count
        out[t, reached] = envelope[t, index[reached]]
        at[t, reached] = scores[index[reached]]
    return Interpolated(out, at)
