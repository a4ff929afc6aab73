"""`Box`: one stored box in pixels, the single box type of the store, the exports, the review API and
the SDK. Each edge converts from and to it here, once: `Predictions` (`boxes_from_predictions`,
`predictions_from_boxes`), the wire dict of the review API, feedback reports and the SDK
(`Box.to_wire`, `Box.from_wire`), and a stored row or its JSON (`Box.from_row`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from framescout.predictions.core import Predictions

WIRE_KEYS = ("class", "x_min", "y_min", "x_max", "y_max")
"""The keys of a box on the wire (`Box.to_wire`), in their order."""


class BoxRow(Protocol):
    """Anything with a box's fields as attributes: an ORM ``Annotation``, a ``ReviewBox`` (duck-typed,
    so this package imports neither the store nor the server). ``confidence`` and ``iscrowd`` are
    read when present."""

    @property
    def class_name(self) -> str: ...
    @property
    def x_min(self) -> float: ...
    @property
    def y_min(self) -> float: ...
    @property
    def x_max(self) -> float: ...
    @property
    def y_max(self) -> float: ...


@dataclass(frozen=True)
class Box:
    """One box in pixels of the (EXIF-oriented) image; ``confidence`` only for predictions."""

    class_name: str
    """The class's name: boxes carry names, not ids (an id means something only in a model's class list)."""
    x_min: float
    y_min: float
    x_max: float
    y_max: float
    confidence: float | None = None
    """A prediction's confidence in [0, 1]; None for a box a person drew or a file gave as ground truth."""
    iscrowd: bool = False
    """COCO's crowd flag (ground truth from a COCO file); False everywhere else."""

    @property
    def width(self) -> float:
        return self.x_max - self.x_min

    @property
    def height(self) -> float:
        return self.y_max - self.y_min

    @property
    def center(self) -> tuple[float, float]:
        """The centre (x, y), as Roboflow and YOLO place a box."""
        return (self.x_min + self.x_max) / 2, (self.y_min + self.y_max) / 2

    @classmethod
    def from_center(
        cls, class_name: str, x: float, y: float, width: float, height: float, confidence: float | None = None
    ) -> Box:
        """From a centre and a size (Roboflow's ``x``, ``y``, ``width``, ``height``)."""
        return cls(class_name, *center_to_corners(x, y, width, height), confidence)

    def to_wire(self) -> dict[str, Any]:
        """The box as the review API takes it, feedback reports store and return it, and the SDK sends
        it: ``{"class", "x_min", "y_min", "x_max", "y_max"}`` (no confidence: people's boxes)."""
        values = (self.class_name, self.x_min, self.y_min, self.x_max, self.y_max)
        return dict(zip(WIRE_KEYS, values, strict=True))

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Box:
        """The inverse of `to_wire` (values as given; an optional ``confidence`` is kept)."""
        return cls(
            data["class"], data["x_min"], data["y_min"], data["x_max"], data["y_max"], data.get("confidence")
        )

    @classmethod
    def from_row(cls, row: BoxRow | Mapping[str, Any]) -> Box:
        """From a record that names the box's fields (``class_name``, ``x_min`` … ``y_max``, optional
        ``confidence`` and ``iscrowd``): an ORM ``Annotation``, a ``ReviewBox``, or the JSON dict of an
        annotation as the API lists it."""
        if isinstance(row, Mapping):
            values = [row[key] for key in _ROW_KEYS]
            confidence, iscrowd = row.get("confidence"), row.get("iscrowd", False)
        else:
            values = [getattr(row, key) for key in _ROW_KEYS]
            confidence, iscrowd = getattr(row, "confidence", None), getattr(row, "iscrowd", False)
        name, x_min, y_min, x_max, y_max = values
        return cls(name, x_min, y_min, x_max, y_max, confidence, bool(iscrowd))


_ROW_KEYS = ("class_name", "x_min", "y_min", "x_max", "y_max")


def center_to_corners(x: float, y: float, width: float, height: float) -> tuple[float, float, float, float]:
    """Corners (x_min, y_min, x_max, y_max) of the box centred on (x, y) with that size."""
    return x - width / 2, y - height / 2, x + width / 2, y + height / 2


def boxes_from_predictions(predictions: Predictions) -> list[Box]:
    """One `Box` per detection, with its confidence (class ids and class probabilities are dropped)."""
    return [
        Box(name, float(xyxy[0]), float(xyxy[1]), float(xyxy[2]), float(xyxy[3]), float(conf))
        for xyxy, conf, name in zip(
            predictions.xyxy.tolist(), predictions.confidence.tolist(), predictions.class_name, strict=True
        )
    ]


def predictions_from_boxes(
    boxes: Iterable[Box],
    *,
    image_width: int | None = None,
    image_height: int | None = None,
    default_confidence: float = 1.0,
) -> Predictions:
    """The boxes as one frame's `Predictions` (class id -1: boxes carry names only); a box without a
    confidence (a person's) gets ``default_confidence``."""
    boxes = list(boxes)
    return Predictions.from_arrays(
        np.array([(b.x_min, b.y_min, b.x_max, b.y_max) for b in boxes], dtype=np.float64).reshape(-1, 4),
        [default_confidence if b.confidence is None else b.confidence for b in boxes],
        np.full(len(boxes), -1),
        class_name=[b.class_name for b in boxes],
        image_width=image_width,
        image_height=image_height,
    )
