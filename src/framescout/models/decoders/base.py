"""A detector output layout: how to prepare the input tensor and decode the raw outputs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from framescout.imaging import BGRImage
from framescout.models.letterbox import Letterbox, letterbox

Shape = tuple[int | str | None, ...]


@dataclass(frozen=True)
class Decoded:
    """Candidate boxes on the letterboxed canvas, before thresholding and NMS.

    ``scores`` (N, C) rank and threshold the boxes; ``probs`` (N, C) is the class distribution kept
    with each box for uncertainty (the same array unless the layout has an objectness term)."""

    xyxy: NDArray[np.float32]
    scores: NDArray[np.float32]
    probs: NDArray[np.float32]


class Layout(ABC):
    """One family of exports (NanoDet, YOLOv8/11, YOLOv5, YOLOX)."""

    name: str

    @abstractmethod
    def matches(self, outputs: Sequence[Shape], input_size: tuple[int, int]) -> bool:
        """Whether raw outputs of these shapes look like this layout."""

    @abstractmethod
    def preprocess(
        self, image: BGRImage, input_size: tuple[int, int]
    ) -> tuple[NDArray[np.float32], Letterbox]:
        """The NCHW input tensor and the letterbox used to build it."""

    @abstractmethod
    def decode(self, outputs: Sequence[NDArray[np.float32]], input_size: tuple[int, int]) -> Decoded:
        """Candidate boxes and class scores from the raw outputs."""

    @abstractmethod
    def class_count(self, outputs: Sequence[Shape]) -> int | None:
        """The number of classes the outputs carry, when the shapes tell."""


def rgb_unit_blob(
    image: BGRImage, input_size: tuple[int, int], placement: str
) -> tuple[NDArray[np.float32], Letterbox]:
    """Ultralytics-style input: letterbox with grey padding, RGB, scaled to [0, 1], NCHW."""
    canvas, box = letterbox(image, input_size, placement="center" if placement == "center" else "top-left")
    blob = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return np.ascontiguousarray(blob), box


def grid_cells(input_size: tuple[int, int], strides: Sequence[int]) -> int:
    """How many cells a stride pyramid has for this input size."""
    width, height = input_size
    return sum((width // s) * (height // s) for s in strides)


def cxcywh_to_xyxy(boxes: NDArray[np.float32]) -> NDArray[np.float32]:
    half = boxes[:, 2:4] / 2
    return np.concatenate([boxes[:, :2] - half, boxes[:, :2] + half], axis=1).astype(np.float32)


def dims(shape: Shape) -> tuple[int, ...] | None:
    """A shape with every dimension known, or ``None``."""
    if all(isinstance(d, int) for d in shape):
        return tuple(int(d) for d in shape)  # type: ignore[arg-type]
    return None
