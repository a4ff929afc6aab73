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
    by_score = np.argsort(-score, kind="stable")
    order = by_score[np.argsort(group[by_score], kind="stable")]
    sorted_group = group[order]
    change = np.r_[True, sorted_group[1:] != sorted_group[:-1]]
    starts = np.maximum.accumulate(np.where(change, np.arange(len(group)), 0))
    rank = np.empty(len(group), dtype=np.intp)
    rank[order] = np.arange(len(group)) - starts
    return order, rank


def pairs(dt_group: IntArray, gt_group: IntArray) -> tuple[IntArray, IntArray]:
    """Every (prediction, truth) index pair whose two boxes are in the same group (groups are
    non-negative integers), by prediction, then truth box, in index order."""
    gt_order = np.argsort(gt_group, kind="stable")
    size = max(int(dt_group.max(initial=-1)), int(gt_group.max(initial=-1))) + 1
    per_group = np.bincount(gt_group, minlength=size)
    count = per_group[dt_group]
    first = (np.cumsum(per_group) - per_group)[dt_group]
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
    keep = overlaps >= caps.min()
    if other_labels is not None:
        keep &= other_labels[0][pair_dt] != other_labels[1][pair_gt]
    pair_dt, pair_gt, overlaps = pair_dt[keep], pair_gt[keep], overlaps[keep]
    _, rank = ranks(dt_group, dt_score)
    # Every group's r-th prediction is matched in step r; pairs stay by prediction, then truth box.
    order = np.argsort(rank[pair_dt].astype(np.int32), kind="stable")
    pair_dt, pair_gt, overlaps = pair_dt[order], pair_gt[order], overlaps[order]
    pair_rank = rank[pair_dt]
    taken = np.zeros((len(caps), len(gt_group)), dtype=np.bool_)
    bounds = np.flatnonzero(np.diff(pair_rank)) + 1
    for start, stop in zip(np.r_[0, bounds], np.r_[bounds, len(pair_rank)], strict=True):
        if start == stop:
            continue
        dts, gts = pair_dt[start:stop], pair_gt[start:stop]
        chosen, t = _choose(overlaps[start:stop], dts, ~gt_ignore[gts], caps, ~taken[:, gts] | gt_crowd[gts])
        result[t, dts[chosen]] = gts[chosen]
        taken[t, gts[chosen]] = True
    matched = result >= 0
    ignored = np.zeros_like(matched)
    ignored[matched] = gt_ignore[result[matched]]
    return Matches(result, ignored)


def _choose(
    overlaps: FloatArray, dts: IntArray, regular: BoolArray, caps: FloatArray, available: BoolArray
) -> tuple[IntArray, IntArray]:
    """One step of the greedy loop: per threshold, each prediction's pick among its candidate pairs
    (``dts`` runs of pairs; ``available``: the truth box is free or a crowd box, per threshold):
    a regular box if any qualifies, else an ignored one; the highest IoU; of equal IoUs the last.
    Returns the chosen pair positions and their thresholds' indices."""
    free = (overlaps >= caps[:, None]) & available
    segments = np.r_[0, np.flatnonzero(np.diff(dts)) + 1]
    owner = np.repeat(np.arange(len(segments)), np.diff(np.r_[segments, len(dts)]))
    any_regular = np.logical_or.reduceat(free & regular, segments, axis=1)
    eligible = free & (regular | ~any_regular[:, owner])
    key = np.where(eligible, overlaps, -1.0)
    best = np.maximum.reduceat(key, segments, axis=1)
    position = np.where(eligible & (key == best[:, owner]), np.arange(len(dts)), -1)
    last = np.maximum.reduceat(position, segments, axis=1)
    t, _ = np.nonzero(last >= 0)
    return last[last >= 0], t
