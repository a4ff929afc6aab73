"""The evaluation's input (`EvalImage`) and its flat NumPy form (`FlatBoxes`): every truth box and
every prediction of every image in one array each, in input order, so the rest of the package works on
arrays only. Boxes are kept as pycocotools keeps them, ``(x, y, width, height)`` with
``width = x_max - x_min``, so the IoU below is computed with the very same float operations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter

import numpy as np
from numpy.typing import NDArray

from framescout.predictions import Box

AREA_ALL = (0.0, 1e5**2)
"""pycocotools' area range "all": a box whose area falls outside it is ignored (none real does)."""

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class EvalImage:
    """One evaluated image: its ground truth (``iscrowd`` honoured, confidences ignored) and one model
    version's predictions (each needs a confidence)."""

    image_id: str
    truth: Sequence[Box]
    predictions: Sequence[Box]


@dataclass(frozen=True)
class FlatBoxes:
    """One kind of box (truth or predictions) of all images, one row per box, in input order."""

    image: IntArray
    """Index of the box's image in the input sequence."""
    label: IntArray
    """Index of the box's class in `Flat.classes`."""
    xywh: FloatArray
    """(n, 4): x_min, y_min, width, height."""
    score: FloatArray
    """Confidence (predictions); zeros for truth."""
    crowd: BoolArray
    """COCO's iscrowd (truth); all False for predictions."""

    def __len__(self) -> int:
        return len(self.image)

    @property
    def area(self) -> FloatArray:
        return self.xywh[:, 2] * self.xywh[:, 3]

    @property
    def out_of_range(self) -> BoolArray:
        """Boxes outside the area range "all" (ignored, as pycocotools ignores them)."""
        area = self.area
        return (area < AREA_ALL[0]) | (area > AREA_ALL[1])


@dataclass(frozen=True)
class Flat:
    """All images' truth and predictions as arrays, with the class list (sorted names)."""

    image_ids: tuple[str, ...]
    classes: tuple[str, ...]
    truth: FlatBoxes
    predictions: FlatBoxes


def flatten(images: Sequence[EvalImage]) -> Flat:
    """The images as arrays; ValueError on a duplicate image id or a prediction without a confidence."""
    image_ids = tuple(image.image_id for image in images)
    if len(set(image_ids)) != len(image_ids):
        duplicate = next(i for i, n in Counter(image_ids).items() if n > 1)
        raise ValueError(f"image_id {duplicate!r} appears more than once among the evaluated images")
    truth = list(chain.from_iterable(image.truth for image in images))
    predictions = list(chain.from_iterable(image.predictions for image in images))
    scores = list(map(attrgetter("confidence"), predictions))
    if None in scores:
        position = scores.index(None)
        owner = np.repeat(np.arange(len(images)), [len(i.predictions) for i in images])[position]
        raise ValueError(f"a prediction of image {image_ids[owner]!r} has no confidence")
    name = attrgetter("class_name")
    classes = tuple(sorted(set(map(name, truth)) | set(map(name, predictions))))
    lookup = {class_name: label for label, class_name in enumerate(classes)}
    return Flat(
        image_ids,
        classes,
        _boxes(truth, [len(i.truth) for i in images], lookup, None),
        _boxes(predictions, [len(i.predictions) for i in images], lookup, scores),
    )


def _boxes(
    boxes: list[Box], counts: list[int], lookup: dict[str, int], scores: list[float] | None
) -> FlatBoxes:
    """Truth boxes (``scores`` None: crowd flags read) or predictions as arrays; C-level iteration
    only (``map``), as 100k images hold millions of boxes."""
    n = len(boxes)
    corners = chain.from_iterable(map(attrgetter("x_min", "y_min", "x_max", "y_max"), boxes))
    xywh = np.fromiter(corners, dtype=np.float64, count=4 * n).reshape(-1, 4)
    xywh[:, 2:] -= xywh[:, :2]
    labels = map(lookup.__getitem__, map(attrgetter("class_name"), boxes))
    return FlatBoxes(
        image=np.repeat(np.arange(len(counts), dtype=np.intp), counts),
        label=np.fromiter(labels, dtype=np.intp, count=n),
        xywh=xywh,
        score=np.zeros(n) if scores is None else np.array(scores, dtype=np.float64).reshape(-1),
        crowd=np.fromiter(map(attrgetter("iscrowd"), boxes), dtype=np.bool_, count=n)
        if scores is None
        else np.zeros(n, dtype=np.bool_),
    )
