"""YOLOv5 (and v7-style) export: one output ``[1, N, 5 + C]`` — centre x, y, width, height,
objectness, C class probabilities; N is 3 anchors per cell of the stride 8/16/32 pyramid."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from framescout.imaging import BGRImage
from framescout.models.decoders.base import (
    Decoded,
    Layout,
    Shape,
    cxcywh_to_xyxy,
    dims,
    grid_cells,
    objectness_class_count,
    objectness_scores,
    rgb_unit_blob,
)
from framescout.models.letterbox import Letterbox

STRIDES = (8, 16, 32)


class YoloV5(Layout):
    name = "yolov5"

    def matches(self, outputs: Sequence[Shape], input_size: tuple[int, int]) -> bool:
        shape = dims(outputs[0]) if len(outputs) == 1 else None
        return (
            shape is not None
            and len(shape) == 3
            and shape[2] > 5
            and shape[1] == 3 * grid_cells(input_size, STRIDES)
        )

    def class_count(self, outputs: Sequence[Shape]) -> int | None:
        return objectness_class_count(outputs)

    def preprocess(
        self, image: BGRImage, input_size: tuple[int, int]
    ) -> tuple[NDArray[np.float32], Letterbox]:
        return rgb_unit_blob(image, input_size, "center")

    def decode(self, outputs: Sequence[NDArray[np.float32]], input_size: tuple[int, int]) -> Decoded:
        rows = outputs[0][0]
        scores, probs = objectness_scores(rows)
        return Decoded(cxcywh_to_xyxy(rows[:, :4]), scores, probs)
