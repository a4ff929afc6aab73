"""Stability of a detector's boxes under cheap views of the image (flip, rescale, noise, blur).

A box the model is sure of survives a horizontal flip, a smaller scale and mild noise with the same
place, class and confidence; a box it is guessing at moves, changes class, or vanishes, and boxes
appear in one view that the others never saw. Measuring that disagreement needs only inference, so it
works with any ONNX detector on a CPU (consistency-based active learning: CALD, Kao et al.'s
localisation stability).

For each view the image is transformed, the detector runs on it at half the base threshold (so a box
that merely dips below the threshold is matched, not counted as lost), its boxes are mapped back to
the original image, and they are matched one to one with the base boxes (class-agnostic, greedy by
IoU, pairs with IoU >= `MATCH_IOU`). A matched pair agrees by ``IoU x class overlap x (1 - |score
difference|)``; a base box with no match in a view disagrees fully there. A base box's score is its
mean disagreement over the views.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from framescout.imaging import BGRImage
from framescout.predictions import Predictions

MATCH_IOU = 0.3
"""Least IoU for a base box and a view's box to count as the same object."""
VIEW_THRESHOLD = 0.5
"""Views run at this fraction of the base confidence threshold."""
RESCALE = 0.8
"""The ``rescale`` view shows the image at this scale (centred on a grey canvas 1/RESCALE larger)."""
NOISE_SIGMA = 8.0
"""Standard deviation (in 0-255 grey levels) of the ``noise`` view's Gaussian noise."""
BLUR_SIGMA = 1.0
"""The ``blur`` view's Gaussian sigma, in pixels of a 416-pixel image (scaled to the image size)."""


class Detector(Protocol):
    """What selection needs of a model runner (see `framescout.models`): only ``predict``, so that
    selection does not import the runners (and onnxruntime) to name the type."""

    def predict(self, image: Any, confidence: float = ..., iou: float = ...) -> Predictions: ...


Boxes = NDArray[np.float64]


@dataclass(frozen=True)
class View:
    """A transform of the image and the map that takes its boxes back to the original image."""

    name: str
    apply: Callable[[BGRImage], tuple[BGRImage, Callable[[Boxes], Boxes]]]


def _flip(image: BGRImage) -> tuple[BGRImage, Callable[[Boxes], Boxes]]:
    width = image.shape[1]

    def back(xyxy: Boxes) -> Boxes:
        return np.stack([width - xyxy[:, 2], xyxy[:, 1], width - xyxy[:, 0], xyxy[:, 3]], axis=1)

    return np.ascontiguousarray(image[:, ::-1]), back


def _rescale(image: BGRImage) -> tuple[BGRImage, Callable[[Boxes], Boxes]]:
    """Zoom out: the model's input is fixed, so padding the image is what makes objects smaller."""
    height, width = image.shape[:2]
    pad_x, pad_y = round(width * (1 / RESCALE - 1) / 2), round(height * (1 / RESCALE - 1) / 2)
    canvas = cv2.copyMakeBorder(image, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=(114,) * 3)

    def back(xyxy: Boxes) -> Boxes:
        out = xyxy - np.array([pad_x, pad_y, pad_x, pad_y], dtype=np.float64)
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
        return out

    return np.asarray(canvas, dtype=np.uint8), back


def _same(xyxy: Boxes) -> Boxes:
    return xyxy


_NOISE_TILE = 256


@lru_cache(maxsize=1)
def _noise_tile() -> NDArray[np.int16]:
    """A fixed tile of Gaussian noise (seeded): the same noise for the same image, wherever it is
    scored, and ~20x cheaper than drawing a full frame of normals per image."""
    rng = np.random.default_rng(0)
    tile = rng.normal(0.0, NOISE_SIGMA, (_NOISE_TILE, _NOISE_TILE, 3)).round()
    return tile.astype(np.int16)


def _noise(image: BGRImage) -> tuple[BGRImage, Callable[[Boxes], Boxes]]:
    height, width = image.shape[:2]
    reps = (-(-height // _NOISE_TILE), -(-width // _NOISE_TILE), 1)
    noise = np.tile(_noise_tile(), reps)[:height, :width]
    noisy = cv2.add(image, noise, dtype=cv2.CV_16S)  # saturating, no float copy of the frame
    return np.asarray(noisy.clip(0, 255), dtype=np.uint8), _same


def _blur(image: BGRImage) -> tuple[BGRImage, Callable[[Boxes], Boxes]]:
    sigma = BLUR_SIGMA * max(1.0, max(image.shape[:2]) / 416)
    return np.asarray(cv2.GaussianBlur(image, (0, 0), sigma), dtype=np.uint8), _same


_ALL = (View("flip", _flip), View("rescale", _rescale), View("noise", _noise), View("blur", _blur))
VIEW_BY_NAME = {v.name: v for v in _ALL}
VIEWS: tuple[str, ...] = tuple(VIEW_BY_NAME)
"""The view names `--views` accepts."""


@dataclass(frozen=True)
class Stability:
    """How an image's base-view boxes hold up under other views (1 = unstable, 0 = stable).

    - ``box_scores``: ``(n_boxes,)`` disagreement in [0, 1], aligned with the base predictions' boxes;
    - ``only_in_other_views``: ``(m,)`` confidences of boxes another view found (at or above the base
      threshold) that match no base box, merged across views (one entry per object, its highest score);
    - ``components``: image-level parts, each in [0, 1]: ``iou`` (1 - IoU), ``class`` (1 - class
      overlap) and ``confidence`` (score difference) over matched pairs, ``single_view`` (the share of
      box confidence seen in only some views), ``disagreement`` (confidence-weighted mean of
      ``box_scores``, with boxes only in other views counting 1), all weighted by base confidence;
    - ``views``: the view names compared."""

    box_scores: NDArray[np.float64]
    only_in_other_views: NDArray[np.float64]
    components: dict[str, float] = field(default_factory=dict)
    views: tuple[str, ...] = ()


def pairwise_iou(a: Boxes, b: Boxes) -> NDArray[np.float64]:
    """``(len(a), len(b))`` IoU of xyxy boxes."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), dtype=np.float64)
    left = np.maximum(a[:, None, 0], b[None, :, 0])
    top = np.maximum(a[:, None, 1], b[None, :, 1])
    right = np.minimum(a[:, None, 2], b[None, :, 2])
    bottom = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = (right - left).clip(0) * (bottom - top).clip(0)
    area_a = (a[:, 2] - a[:, 0]).clip(0) * (a[:, 3] - a[:, 1]).clip(0)
    area_b = (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)
    union = area_a[:, None] + area_b[None, :] - inter
    out: NDArray[np.float64] = inter / np.maximum(union, 1e-12)
    return out


def match_boxes(iou: NDArray[np.float64], min_iou: float = MATCH_IOU) -> NDArray[np.intp]:
    """One-to-one matching of rows to columns, greedily by descending IoU: ``match[i]`` is row ``i``'s
    column, or -1. Greedy equals the optimal assignment whenever the overlaps are unambiguous (the
    usual case for one object seen twice) and needs no solver."""
    match = np.full(iou.shape[0], -1, dtype=np.intp)
    if not iou.size:
        return match
    rows, cols = np.nonzero(iou >= min_iou)
    order = np.argsort(-iou[rows, cols], kind="stable")
    used_cols: set[int] = set()
    for k in order:
        r, c = int(rows[k]), int(cols[k])
        if match[r] < 0 and c not in used_cols:
            match[r] = c
            used_cols.add(c)
    return match


def class_overlap(base: Predictions, view: Predictions, pairs: NDArray[np.intp]) -> NDArray[np.float64]:
    """Per matched pair ``(i, j)``: the overlap of the two class distributions (sum of minima of the
    normalised per-class scores) when the model gives them, else 1 for the same class and 0 if not."""
    i, j = pairs[:, 0], pairs[:, 1]
    if base.class_probs is not None and view.class_probs is not None:
        p, q = base.class_probs[i], view.class_probs[j]
        p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
        q = q / np.maximum(q.sum(axis=1, keepdims=True), 1e-12)
        return np.asarray(np.minimum(p, q).sum(axis=1).clip(0, 1), dtype=np.float64)
    same = np.array([base.class_name[a] == view.class_name[b] for a, b in zip(i, j, strict=True)])
    return same.astype(np.float64)


def compare(
    base: Predictions, views: Sequence[Predictions], names: Sequence[str], confidence: float
) -> Stability:
    """`Stability` of ``base`` against the same image's predictions in ``views`` (in original-image
    pixels); view boxes below ``confidence`` count only when they match a base box."""
    n = len(base)
    disagreement = np.ones((n, len(views)), dtype=np.float64)
    missing = np.ones((n, len(views)), dtype=bool)
    parts: dict[str, list[NDArray[np.float64]]] = {"iou": [], "class": [], "confidence": []}
    pair_weights: list[NDArray[np.float64]] = []
    extra_boxes: list[Boxes] = []
    extra_scores: list[NDArray[np.float64]] = []
    for v, view in enumerate(views):
        iou = pairwise_iou(base.xyxy, view.xyxy)
        match = match_boxes(iou)
        rows = np.flatnonzero(match >= 0)
        pairs = np.stack([rows, match[rows]], axis=1)
        overlap = class_overlap(base, view, pairs)
        box_iou = iou[rows, match[rows]]
        gap = np.abs(base.confidence[rows] - view.confidence[match[rows]])
        disagreement[rows, v] = 1.0 - box_iou * overlap * (1.0 - gap)
        missing[rows, v] = False
        parts["iou"].append(1.0 - box_iou)
        parts["class"].append(1.0 - overlap)
        parts["confidence"].append(gap)
        pair_weights.append(base.confidence[rows])
        unmatched = np.setdiff1d(np.arange(len(view)), match[rows])
        unmatched = unmatched[view.confidence[unmatched] >= confidence]
        extra_boxes.append(view.xyxy[unmatched])
        extra_scores.append(view.confidence[unmatched])
    box_scores = disagreement.mean(axis=1) if views else np.zeros(n, dtype=np.float64)
    only = _merge_unmatched(extra_boxes, extra_scores)
    weights = np.concatenate(pair_weights) if pair_weights else np.zeros(0)
    components = {
        key: _weighted(np.concatenate(values) if values else np.zeros(0), weights)
        for key, values in parts.items()
    }
    mass = float(base.confidence.sum() + only.sum())
    lost = missing.mean(axis=1) if views else np.zeros(n)
    components["single_view"] = float((base.confidence @ lost + only.sum()) / mass) if mass else 0.0
    components["disagreement"] = float((base.confidence @ box_scores + only.sum()) / mass) if mass else 0.0
    return Stability(
        box_scores=box_scores, only_in_other_views=only, components=components, views=tuple(names)
    )


def _weighted(values: NDArray[np.float64], weights: NDArray[np.float64]) -> float:
    total = float(weights.sum())
    return float(values @ weights / total) if total > 0 else 0.0


def _merge_unmatched(boxes: list[Boxes], scores: list[NDArray[np.float64]]) -> NDArray[np.float64]:
    """One confidence per object among the views' unmatched boxes: boxes of different views that
    overlap (IoU >= `MATCH_IOU`) are one object, kept at its highest score; sorted high to low."""
    if not boxes:
        return np.zeros(0, dtype=np.float64)
    all_boxes, all_scores = np.concatenate(boxes), np.concatenate(scores)
    order = np.argsort(-all_scores, kind="stable")
    iou = pairwise_iou(all_boxes, all_boxes)
    kept: list[int] = []
    for k in order:
        if not kept or iou[k, kept].max() < MATCH_IOU:
            kept.append(int(k))
    return np.asarray(all_scores[kept], dtype=np.float64)


def stability_of(
    detector: Detector, image: BGRImage, base: Predictions, views: Sequence[str], confidence: float
) -> Stability:
    """Run ``detector`` on each view of ``image`` and compare with its ``base`` predictions."""
    seen = []
    for name in views:
        transformed, back = VIEW_BY_NAME[name].apply(image)
        found = detector.predict(transformed, confidence=confidence * VIEW_THRESHOLD)
        seen.append(_moved(found, back(found.xyxy), image))
    return compare(base, seen, views, confidence)


def _moved(found: Predictions, xyxy: Boxes, image: BGRImage) -> Predictions:
    """``found`` with its boxes mapped back to ``image``; boxes left with no area (they lay in the
    padding a view added) are dropped."""
    visible = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
    found, xyxy = found[visible], xyxy[visible]
    return Predictions(
        xyxy=xyxy,
        confidence=found.confidence,
        class_id=found.class_id,
        class_name=found.class_name,
        image_width=image.shape[1],
        image_height=image.shape[0],
        class_probs=found.class_probs,
    )
