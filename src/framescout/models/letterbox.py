"""Letterbox resizing: keep the aspect ratio, pad to the network's input size, remember how to map
boxes back to the original image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from framescout.imaging import BGRImage


@dataclass(frozen=True)
class Letterbox:
    """Scale and offset used to place the image on the canvas; ``unmap`` undoes them for boxes."""

    scale: float
    pad_x: float
    pad_y: float
    width: int
    height: int

    def unmap(self, xyxy: NDArray[np.float32]) -> NDArray[np.float64]:
        """Boxes on the canvas to original-image pixels, clipped to the image."""
        out = xyxy.astype(np.float64)
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, self.width)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, self.height)
        return out


def letterbox(
    image: BGRImage,
    size: tuple[int, int],
    *,
    placement: Literal["top-left", "center"] = "center",
    pad_value: int = 114,
) -> tuple[BGRImage, Letterbox]:
    """Resize ``image`` into a ``size`` = (width, height) canvas without distortion."""
    height, width = image.shape[:2]
    target_w, target_h = size
    scale = min(target_w / width, target_h / height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((target_h, target_w, 3), pad_value, dtype=np.uint8)
    if placement == "center":
        pad_x, pad_y = (target_w - new_w) / 2, (target_h - new_h) / 2
        left, top = round(pad_x - 0.1), round(pad_y - 0.1)
    else:
        pad_x = pad_y = 0.0
        left = top = 0
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas, Letterbox(scale, float(left), float(top), width, height)
