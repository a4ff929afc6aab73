"""NanoDet (GFL head): three class-score maps then three box-distribution maps, strides 8/16/32.

Input: BGR, ``(pixel - mean) / std``, letterboxed at the top-left of a zero canvas. Box rows are
4 sides x (reg_max + 1) bins: softmax over the bins, expectation, times the stride gives the
distances from the cell centre ``(x * s + 0.5 * (s - 1), y * s + 0.5 * (s - 1))``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from framescout.imaging import BGRImage
from framescout.models.decoders.base import Decoded, Layout, Shape, dims
from framescout.models.letterbox import Letterbox, letterbox

MEAN = np.array([103.53, 116.28, 123.675], dtype=np.float32)
STD = np.array([57.375, 57.12, 58.395], dtype=np.float32)
STRIDES = (8, 16, 32)


class NanoDet(Layout):
    name = "nanodet"

    def matches(self, outputs: Sequence[Shape], input_size: tuple[int, int]) -> bool:
        shapes = [dims(s) for s in outputs]
        if len(shapes) != 6 or any(s is None or len(s) != 3 for s in shapes):
            return False
        cells = [(input_size[0] // s) * (input_size[1] // s) for s in STRIDES]
        cls, reg = shapes[:3], shapes[3:]
        return (
            [s[1] for s in cls] == cells  # type: ignore[index]
            and [s[1] for s in reg] == cells  # type: ignore[index]
            and len({s[2] for s in cls}) == 1  # type: ignore[index]
            and all(s[2] % 4 == 0 for s in reg)  # type: ignore[index]
        )

    def class_count(self, outputs: Sequence[Shape]) -> int | None:
        shape = dims(outputs[0])
        return None if shape is None else shape[2]

    def preprocess(
        self, image: BGRImage, input_size: tuple[int, int]
    ) -> tuple[NDArray[np.float32], Letterbox]:
        canvas, box = letterbox(image, input_size, placement="top-left", pad_value=0)
        normalised = (canvas.astype(np.float32) - MEAN) / STD  # zero padding in pixel space, as in training
        return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None]), box

    def decode(self, outputs: Sequence[NDArray[np.float32]], input_size: tuple[int, int]) -> Decoded:
        boxes, scores = [], []
        for level, stride in enumerate(STRIDES):
            cls, reg = outputs[level][0], outputs[level + 3][0]
            cols = input_size[0] // stride
            ys, xs = np.divmod(np.arange(cls.shape[0]), cols)
            cx = xs * stride + 0.5 * (stride - 1)
            cy = ys * stride + 0.5 * (stride - 1)
            bins = reg.reshape(reg.shape[0], 4, -1)
            p = np.exp(bins - bins.max(axis=2, keepdims=True))
            p /= p.sum(axis=2, keepdims=True)
            dist = (p * np.arange(bins.shape[2], dtype=np.float32)).sum(axis=2) * stride
            boxes.append(
                np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], axis=1)
            )
            scores.append(cls)
        all_scores = np.concatenate(scores).astype(np.float32)
        return Decoded(np.concatenate(boxes).astype(np.float32), all_scores, all_scores)
