"""The head YOLOv5 and YOLOX share: one output ``[1, N, 5 + C]`` (centre x, y, width, height,
objectness, C class probabilities) over the stride 8/16/32 pyramid, ``anchors`` rows per cell."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from framescout.models.decoders.base import Layout, Shape, dims, grid_cells

STRIDES = (8, 16, 32)


class ObjectnessLayout(Layout):
    """Recognises and counts the classes of a ``[1, N, 5 + C]`` output; subclasses prepare the input
    and decode the boxes (their exports differ there)."""

    anchors = 1
    """Rows per pyramid cell: 3 anchors for YOLOv5, 1 for the anchor-free YOLOX."""

    def matches(self, outputs: Sequence[Shape], input_size: tuple[int, int]) -> bool:
        shape = dims(outputs[0]) if len(outputs) == 1 else None
        return (
            shape is not None
            and len(shape) == 3
            and shape[2] > 5
            and shape[1] == self.anchors * grid_cells(input_size, STRIDES)
        )

    def class_count(self, outputs: Sequence[Shape]) -> int | None:
        shape = dims(outputs[0])
        return None if shape is None else shape[2] - 5


def objectness_scores(rows: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """For ``[N, 5 + C]`` rows (box, objectness, class probabilities): ranking scores ``obj x p(class)``
    and the class distribution itself."""
    probs = np.ascontiguousarray(rows[:, 5:], dtype=np.float32)
    return (probs * rows[:, 4:5]).astype(np.float32), probs
