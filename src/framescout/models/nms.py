"""Per-class non-maximum suppression (OpenCV's batched NMS: boxes of different classes never suppress
each other)."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray


def nms_per_class(
    xyxy: NDArray[np.floating], scores: NDArray[np.floating], class_ids: NDArray[np.integer], iou: float
) -> NDArray[np.intp]:
    """Indices of the boxes kept, highest score first."""
    if len(xyxy) == 0:
        return np.empty(0, dtype=np.intp)
    xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    kept = cv2.dnn.NMSBoxesBatched(
        xywh.astype(np.float64).tolist(),
        scores.astype(np.float64).tolist(),
        class_ids.astype(int).tolist(),
        0.0,
        iou,
    )
    keep = np.asarray(kept, dtype=np.intp).reshape(-1)
    return keep[np.argsort(-scores[keep], kind="stable")]
