"""YOLOX export: one output ``[1, N, 5 + C]`` with one cell per position of the stride 8/16/32
pyramid. By default the export holds raw grid offsets: ``(xy + cell) * stride`` and
``exp(wh) * stride`` decode them (``decoded=True`` for exports made with decoding inside).
Input: BGR, 0-255, letterboxed at the top-left with grey (114) padding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from framescout.imaging import BGRImage
from framescout.models.decoders.base import Decoded, cxcywh_to_xyxy
from framescout.models.decoders.objectness import STRIDES, ObjectnessLayout, objectness_scores
from framescout.models.letterbox import Letterbox, letterbox


class Yolox(ObjectnessLayout):
    name = "yolox"
    anchors = 1

    def __init__(self, decoded: bool = False) -> None:
        self.decoded = decoded

    def preprocess(
        self, image: BGRImage, input_size: tuple[int, int]
    ) -> tuple[NDArray[np.float32], Letterbox]:
        canvas, box = letterbox(image, input_size, placement="top-left", pad_value=114)
        return np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32), box

    def _grid(self, input_size: tuple[int, int]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        cells, strides = [], []
        for stride in STRIDES:
            cols, rows = input_size[0] // stride, input_size[1] // stride
            ys, xs = np.divmod(np.arange(rows * cols), cols)
            cells.append(np.stack([xs, ys], axis=1))
            strides.append(np.full((rows * cols, 1), stride))
        return np.concatenate(cells).astype(np.float32), np.concatenate(strides).astype(np.float32)

    def decode(self, outputs: Sequence[NDArray[np.float32]], input_size: tuple[int, int]) -> Decoded:
        rows = outputs[0][0].astype(np.float32)
        boxes = rows[:, :4].copy()
        if not self.decoded:
            cells, strides = self._grid(input_size)
            boxes[:, :2] = (boxes[:, :2] + cells) * strides
            boxes[:, 2:4] = np.exp(np.clip(boxes[:, 2:4], -20, 20)) * strides
        scores, probs = objectness_scores(rows)
        return Decoded(cxcywh_to_xyxy(boxes), scores, probs)
