"""YOLOv5 (and v7-style) export: one output ``[1, N, 5 + C]`` — centre x, y, width, height,
objectness, C class probabilities; N is 3 anchors per cell of the stride 8/16/32 pyramid."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from framescout.imaging import BGRImage
from framescout.models.decoders.base import Decoded, cxcywh_to_xyxy, rgb_unit_blob
from framescout.models.decoders.objectness import ObjectnessLayout, objectness_scores
from framescout.models.letterbox import Letterbox


class YoloV5(ObjectnessLayout):
    name = "yolov5"
    anchors = 3

    def preprocess(
        self, image: BGRImage, input_size: tuple[int, int]
    ) -> tuple[NDArray[np.float32], Letterbox]:
        return rgb_unit_blob(image, input_size, "center")

    def decode(self, outputs: Sequence[NDArray[np.float32]], input_size: tuple[int, int]) -> Decoded:
        rows = outputs[0][0]
        scores, probs = objectness_scores(rows)
        return Decoded(cxcywh_to_xyxy(rows[:, :4]), scores, probs)
