"""`Box`: one stored box in pixels, the single box type of the store, the exports, the review API and
the SDK (each converts from and to it at its edge)."""

from __future__ import annotations

from dataclasses import dataclass

from framescout.predictions.core import Predictions


@dataclass(frozen=True)
class Box:
    """One box in pixels of the (EXIF-oriented) image; ``confidence`` only for predictions."""

    class_name: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float
    confidence: float | None = None
    iscrowd: bool = False
    """COCO's crowd flag (ground truth from a COCO file); False everywhere else."""


def boxes_from_predictions(predictions: Predictions) -> list[Box]:
    return [
        Box(name, float(xyxy[0]), float(xyxy[1]), float(xyxy[2]), float(xyxy[3]), float(conf))
        for xyxy, conf, name in zip(
            predictions.xyxy.tolist(), predictions.confidence.tolist(), predictions.class_name, strict=True
        )
    ]
