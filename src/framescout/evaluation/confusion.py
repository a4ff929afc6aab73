"""The confusion matrix at IoU 0.5 and each class's false positives and misses, per image.

At a confidence c: a prediction scoring ≥ c that COCO matching paired with a truth box of its class
is a hit (diagonal). The remaining predictions (false positives) and the truth boxes no kept
prediction matched (misses) are then matched to each other once more, within each image, across
classes only (same greedy rule, IoU ≥ 0.5): such a pair is a class confusion (truth Y predicted as
X). What is left is background: a false positive in the background row, a miss in the background
column. Each truth box that counts is in exactly one cell of its row, each counted prediction in
one cell of its column. Predictions matched to crowd boxes are in no cell (as they are in no AP).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from framescout.evaluation.inputs import BoolArray, Flat, IntArray
from framescout.evaluation.matching import match
from framescout.evaluation.results import ClassErrors, Confusion, ConfusionCell


def confusion(
    flat: Flat,
    *,
    counted: BoolArray,
    truth50: IntArray,
    gt_ignore: BoolArray,
    confidence: float | None,
) -> tuple[Confusion, dict[str, ClassErrors]]:
    """The matrix and per-class errors; ``counted`` marks the predictions that are neither cut by
    the per-image limit nor ignored, ``truth50`` is their match at IoU 0.5 (-1: none)."""
    dt, gt, k = flat.predictions, flat.truth, len(flat.classes)
    active = counted & (dt.score >= confidence) if confidence is not None else counted
    hit = active & (truth50 >= 0)
    false_pos = np.flatnonzero(active & (truth50 < 0))
    found = np.zeros(len(gt), dtype=np.bool_)
    found[truth50[hit]] = True
    missed = np.flatnonzero(~gt_ignore & ~found)
    cross = match(
        dt_group=dt.image[false_pos],
        dt_score=dt.score[false_pos],
        dt_xywh=dt.xywh[false_pos],
        gt_group=gt.image[missed],
        gt_xywh=gt.xywh[missed],
        gt_ignore=np.zeros(len(missed), dtype=np.bool_),
        gt_crowd=np.zeros(len(missed), dtype=np.bool_),
        thresholds=np.array([0.5]),
        other_labels=(dt.label[false_pos], gt.label[missed]),
    ).truth[0]
    confused = cross >= 0
    confused_gt = np.zeros(len(missed), dtype=np.bool_)
    confused_gt[cross[confused]] = True
    hits = np.flatnonzero(hit)
    background_fp, background_miss = false_pos[~confused], missed[~confused_gt]
    rows = np.concatenate(
        [
            dt.label[hits],
            gt.label[missed[cross[confused]]],
            np.full(len(background_fp), k),
            gt.label[background_miss],
        ]
    )
    cols = np.concatenate(
        [
            dt.label[hits],
            dt.label[false_pos[confused]],
            dt.label[background_fp],
            np.full(len(background_miss), k),
        ]
    )
    images = np.concatenate(
        [dt.image[hits], dt.image[false_pos[confused]], dt.image[background_fp], gt.image[background_miss]]
    )
    cell = rows * (k + 1) + cols
    matrix = np.bincount(cell, minlength=(k + 1) ** 2).reshape(k + 1, k + 1)
    names = [*flat.classes, None]
    ids = np.array(flat.image_ids, dtype=object)
    cells = tuple(
        ConfusionCell(names[c // (k + 1)], names[c % (k + 1)], count, tuple(worst[0]))
        for c, count, worst in _grouped(cell, images, ids)
    )
    fp_by_class = {c: worst for c, _, worst in _grouped(dt.label[false_pos], dt.image[false_pos], ids)}
    miss_by_class = {c: worst for c, _, worst in _grouped(gt.label[missed], gt.image[missed], ids)}
    errors = {
        name: ClassErrors(
            int(matrix[:, label].sum() - matrix[label, label]),
            int(matrix[label, :].sum() - matrix[label, label]),
            _counted(fp_by_class.get(label)),
            _counted(miss_by_class.get(label)),
        )
        for label, name in enumerate(flat.classes)
    }
    table = tuple(tuple(int(v) for v in row) for row in matrix)
    return Confusion(confidence, flat.classes, table, cells), errors


def _counted(worst: tuple[list[str], list[int]] | None) -> tuple[tuple[str, int], ...]:
    return () if worst is None else tuple(zip(*worst, strict=True))


def _grouped(
    key: IntArray, image: IntArray, ids: NDArray[np.object_]
) -> list[tuple[int, int, tuple[list[str], list[int]]]]:
    """Per distinct key (ascending): its count and its images' ids with their counts, most first."""
    if len(key) == 0:
        return []
    codes, counts = np.unique(key.astype(np.int64) * len(ids) + image, return_counts=True)
    pairs = np.stack([codes // len(ids), codes % len(ids)], axis=1)
    order = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))
    pairs, counts = pairs[order], counts[order]
    bounds = np.flatnonzero(np.diff(pairs[:, 0])) + 1
    out = []
    for start, stop in zip(np.r_[0, bounds], np.r_[bounds, len(pairs)], strict=True):
        worst = (ids[pairs[start:stop, 1]].tolist(), counts[start:stop].tolist())
        out.append((int(pairs[start, 0]), int(counts[start:stop].sum()), worst))
    return out
