"""COCO's greedy matching of predictions to ground truth, vectorised over all images at once.

pycocotools (`COCOeval.evaluateImg`) matches within one group (an image and a class; for the
confusion matrix, an image): predictions in descending score (a stable sort: ties keep input
order), each takes the unmatched ground-truth box of highest IoU at or above the threshold — a box
that is not ignored first, an ignored (crowd) box only when none is left; a crowd box can absorb any
number of predictions, and among equal IoUs the box listed last wins. Here every group's r-th
prediction is matched in the same step (groups do not share boxes), so the loop runs over ranks (at
most `max_detections`), not over images, and only pairs with an IoU that can match are touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framescout.evaluation.inputs import BoolArray, FloatArray, IntArray

IOU_CAP = 1 - 1e-10
"""pycocotools caps a threshold at this (``min(t, 1 - 1e-10)``), so IoU 1.0 matches at threshold 1.0."""


def ranks(group: IntArray, score: FloatArray) -> tuple[IntArray, IntArray]:
    """The order of the boxes by group, then descending score, ties in input order (pycocotools'
    mergesort), and each box's rank (0 = highest score) within its group."""
    order = np.lexsort((np.arange(len(group)), -score, group))
    sorted_group = group[order]
    starts = np.searchsorted(sorted_group, sorted_group, side="left")
    rank = np.empty(len(group), dtype=np.intp)
    rank[order] = np.arange(len(group)) - starts
    return order, rank


def pairs(dt_group: IntArray, gt_group: IntArray) -> tuple[IntArray, IntArray]:
    """Every (prediction, truth) index pair whose two boxes are in the same group."""
    gt_order = np.argsort(gt_group, kind="stable")
    sorted_groups = gt_group[gt_order]
    first = np.searchsorted(sorted_groups, dt_group, side="left")
    count = np.searchsorted(sorted_groups, dt_group, side="right") - first
    dt = np.repeat(np.arange(len(dt_group), dtype=np.intp), count)
    offsets = np.arange(len(dt)) - np.repeat(np.cumsum(count) - count, count)
    return dt, gt_order[np.repeat(first, count) + offsets]


def iou(dt_xywh: FloatArray, gt_xywh: FloatArray, gt_crowd: BoolArray) -> FloatArray:
    """IoU of aligned rows, as pycocotools' ``bbIou`` computes it (for a crowd box, the union is the
    prediction's own area)."""
    dx, dy, dw, dh = dt_xywh.T
    gx, gy, gw, gh = gt_xywh.T
    w = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    h = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    overlap = (w > 0) & (h > 0)
    inter = np.where(overlap, w * h, 0.0)
    dt_area = dw * dh
    union = np.where(gt_crowd, dt_area, dt_area + gw * gh - inter)
    out: FloatArray = np.divide(inter, union, out=np.zeros_like(inter), where=overlap)
    return out


@dataclass(frozen=True)
class Matches:
    """The result of `match`: per threshold, each prediction's matched truth box (-1: none) and whether
    the match makes it ignored (matched to an ignored box)."""

    truth: IntArray
    """(T, D) index of the matched truth box, -1 when unmatched."""
    ignored: BoolArray
    """(T, D) matched to an ignored (crowd) truth box: neither a true nor a false positive."""


def match(
    *,
    dt_group: IntArray,
    dt_score: FloatArray,
    dt_xywh: FloatArray,
    gt_group: IntArray,
    gt_xywh: FloatArray,
    gt_ignore: BoolArray,
    gt_crowd: BoolArray,
    thresholds: FloatArray,
    other_labels: tuple[IntArray, IntArray] | None = None,
) -> Matches:
    """Greedy COCO matching at each IoU threshold. With ``other_labels`` (the predictions' and the
    truth boxes' class indices) only boxes of different classes may match (the confusion matrix)."""
    caps = np.minimum(np.asarray(thresholds, dtype=np.float64), IOU_CAP)
    result = np.full((len(caps), len(dt_group)), -1, dtype=np.intp)
    pair_dt, pair_gt = pairs(dt_group, gt_group)
    overlaps = iou(dt_xywh[pair_dt], gt_xywh[pair_gt], gt_crowd[pair_gt])
    keep = overlaps >= caps.min() if len(caps) else np.zeros(len(overlaps), dtype=np.bool_)
    if other_labels is not None:
        keep &= other_labels[0][pair_dt] != other_labels[1][pair_gt]
    pair_dt, pair_gt, overlaps = pair_dt[keep], pair_gt[keep], overlaps[keep]
    _, rank = ranks(dt_group, dt_score)
    # Per rank, each prediction's candidates in rising preference: ignored boxes before the others,
    # then rising IoU, then input order (the last of equal IoUs wins, as in pycocotools' loop).
    order = np.lexsort((pair_gt, overlaps, ~gt_ignore[pair_gt], pair_dt, rank[pair_dt]))
    pair_dt, pair_gt, overlaps = pair_dt[order], pair_gt[order], overlaps[order]
    pair_rank = rank[pair_dt]
    taken = np.zeros((len(caps), len(gt_group)), dtype=np.bool_)
    bounds = np.flatnonzero(np.diff(pair_rank)) + 1
    for start, stop in zip(np.r_[0, bounds], np.r_[bounds, len(pair_rank)], strict=True):
        if start == stop:
            continue
        dts, gts = pair_dt[start:stop], pair_gt[start:stop]
        free = (overlaps[start:stop] >= caps[:, None]) & (~taken[:, gts] | gt_crowd[gts])
        candidate = np.where(free, np.arange(stop - start), -1)
        segments = np.r_[0, np.flatnonzero(np.diff(dts)) + 1]
        best = np.maximum.reduceat(candidate, segments, axis=1)
        t, _ = np.nonzero(best >= 0)
        chosen = best[best >= 0]
        result[t, dts[chosen]] = gts[chosen]
        taken[t, gts[chosen]] = True
    matched = result >= 0
    ignored = np.zeros_like(matched)
    ignored[matched] = gt_ignore[result[matched]]
    return Matches(result, ignored)
