"""YOLOv8 / YOLO11 (Ultralytics export): one output ``[1, 4 + C, N]`` — centre x, y, width, height
on the letterboxed canvas, then C class scores; no objectness."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from framescout.imaging import BGRImage
from framescout.models.decoders.base import Decoded, Layout, Shape, cxcywh_to_xyxy, dims, rgb_unit_blob
from framescout.models.letterbox import Letterbox


class YoloV8(Layout):
    name = "yolov8"

    def matches(self, outputs: Sequence[Shape], input_size: tuple[int, int]) -> bool:
        shape = dims(outputs[0]) if len(outputs) == 1 else None
        return shape is not None and len(shape) == 3 and shape[1] > 4 and shape[2] > shape[1]

    def class_count(self, outputs: Sequence[Shape]) -> int | None:
        shape = dims(outputs[0])
        return None if shape is None else shape[1] - 4

    def preprocess(
        self, image: BGRImage, input_size: tuple[int, int]
    ) -> tuple[NDArray[np.float32], Letterbox]:
        return rgb_unit_blob(image, input_size, "center")

    def decode(self, outputs: Sequence[NDArray[np.float32]], input_size: tuple[int, int]) -> Decoded:
        rows = outputs[0][0].T  # (N, 4 + C)
        scores = np.ascontiguousarray(rows[:, 4:], dtype=np.float32)
        return Decoded(cxcywh_to_xyxy(rows[:, :4]), scores, scores)
