"""The F1-optimal confidence threshold: the score cut-off that a device should keep detections by.

Predictions are sorted by descending score and matched once (greedy COCO matching at IoU 0.5);
because the matching is greedy in score order, keeping only the predictions scoring ≥ s changes no
match among those kept, so every cut-off's true and false positives are a prefix sum. Cut-offs are
taken only between distinct scores (a threshold keeps every box of its score). F1 is
``2·tp / (tp + fp + positives)``; the highest wins, ties to the higher threshold (fewer boxes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framescout.evaluation.inputs import BoolArray, FloatArray


@dataclass(frozen=True)
class OperatingPoint:
    """Precision, recall and F1 at the F1-optimal threshold; None where undefined (documented in
    docs/evaluation.md): no truth boxes → recall, F1 and threshold None; no predictions → precision
    None; no true positive at all → threshold None (precision, recall, F1 are 0)."""

    threshold: float | None
    precision: float | None
    recall: float | None
    f1: float | None


def best_f1(scores: FloatArray, tp: BoolArray, fp: BoolArray, positives: int) -> OperatingPoint:
    """The F1-optimal operating point of predictions sorted by descending ``scores`` with true/false
    positive flags (ignored predictions have neither flag and are left out)."""
    counted = tp | fp
    scores, tp, fp = scores[counted], tp[counted], fp[counted]
    if positives == 0:
        return OperatingPoint(None, 0.0 if len(scores) else None, None, None)
    if len(scores) == 0:
        return OperatingPoint(None, None, 0.0, 0.0)
    cuts = np.r_[scores[1:] != scores[:-1], True]
    tps = np.cumsum(tp)[cuts].astype(np.float64)
    fps = np.cumsum(fp)[cuts].astype(np.float64)
    f1 = 2 * tps / (tps + fps + positives)
    best = int(np.argmax(f1))
    if tps[best] == 0:
        return OperatingPoint(None, 0.0, 0.0, 0.0)
    return OperatingPoint(
        float(scores[cuts][best]),
        float(tps[best] / (tps[best] + fps[best])),
        float(tps[best] / positives),
        float(f1[best]),
    )
