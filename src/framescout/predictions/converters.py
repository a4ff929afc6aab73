"""Converters from and to other detection formats (Roboflow JSON, supervision, Ultralytics).

They do not know the `Predictions` container (as supervision's converters return arrays): each reader
returns `RawDetections`, plain arrays and names, that `Predictions` builds itself from; the Roboflow
writer takes the arrays. The third-party packages are never imported: objects are duck-typed, so they
stay optional extras.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from framescout.predictions.errors import FloatArray, IntArray, PredictionsError


class RawDetections(NamedTuple):
    """What a reader found, not yet checked as a whole (`Predictions.from_arrays` does that): corners,
    confidences, class ids, and names either per box (``class_name``) or as a vocabulary by id
    (``class_names``), with the image size when the format says it."""

    xyxy: Any
    confidence: Any
    class_id: Any
    class_name: Sequence[str] | None = None
    class_names: Sequence[str] | Mapping[int, str] | None = None
    image_width: int | None = None
    image_height: int | None = None


def from_roboflow(
    payload: Mapping[str, Any] | Sequence[Mapping[str, Any]], *, default_confidence: float | None = None
) -> RawDetections:
    """Parse Roboflow's detection JSON: a response dict, or a bare list of prediction dicts.

    Every field's type is checked and errors name it (``predictions[2].class_id must be an
    integer``). ``default_confidence`` fills a missing ``confidence`` (boxes a person drew)."""
    width = height = None
    if isinstance(payload, Mapping):
        image = payload.get("image")
        if isinstance(image, Mapping):
            width, height = _image_side(image, "width"), _image_side(image, "height")
        items = payload.get("predictions", [])
    else:
        items = payload
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise PredictionsError("'predictions' must be a list of objects")
    n = len(items)
    boxes = np.empty((n, 4), dtype=np.float64)
    conf = np.empty(n, dtype=np.float64)
    ids = np.empty(n, dtype=np.int64)
    names: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise PredictionsError(f"predictions[{i}] must be an object")
        where = f"predictions[{i}]"
        x, y = _number(item, "x", where), _number(item, "y", where)
        w, h = _number(item, "width", where), _number(item, "height", where)
        if default_confidence is not None and item.get("confidence") is None:
            conf[i] = default_confidence
        else:
            conf[i] = _number(item, "confidence", where)
        if w < 0 or h < 0:
            raise PredictionsError(f"{where} has a negative width or height")
        boxes[i] = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        ids[i] = _class_id(item, where)
        names.append(_class_name(item, where))
    return RawDetections(boxes, conf, ids, class_name=names, image_width=width, image_height=height)


def to_roboflow(
    xyxy: FloatArray,
    confidence: FloatArray,
    class_id: IntArray,
    class_name: Sequence[str],
    image_width: int | None = None,
    image_height: int | None = None,
) -> dict[str, Any]:
    """Render as Roboflow's detection JSON (centre x/y, width, height in pixels)."""
    items = []
    for (x1, y1, x2, y2), c, cid, name in zip(
        xyxy.tolist(), confidence.tolist(), class_id.tolist(), class_name, strict=True
    ):
        items.append(
            {
                "x": round((x1 + x2) / 2, 2),
                "y": round((y1 + y2) / 2, 2),
                "width": round(x2 - x1, 2),
                "height": round(y2 - y1, 2),
                "confidence": round(c, 4),
                "class": name,
                "class_id": cid,
            }
        )
    payload: dict[str, Any] = {"predictions": items}
    if image_width and image_height:
        payload["image"] = {"width": image_width, "height": image_height}
    return payload


def from_supervision(detections: Any, class_names: Sequence[str] | None = None) -> RawDetections:
    """Convert a ``supervision.Detections``; names come from ``data['class_name']`` or ``class_names``."""
    try:
        xyxy = np.asarray(detections.xyxy, dtype=np.float64)
    except AttributeError:
        raise PredictionsError("expected a supervision.Detections-like object with .xyxy") from None
    n = len(xyxy)
    conf = detections.confidence
    conf = np.ones(n, dtype=np.float64) if conf is None else np.asarray(conf)
    ids = detections.class_id
    ids = np.full(n, -1, dtype=np.int64) if ids is None else np.asarray(ids)
    data = getattr(detections, "data", None) or {}
    if "class_name" in data:
        return RawDetections(xyxy, conf, ids, class_name=[str(x) for x in data["class_name"]])
    return RawDetections(xyxy, conf, ids, class_names=class_names)


def from_ultralytics(result: Any) -> RawDetections:
    """Convert one Ultralytics ``Results`` (``result.boxes`` tensors or arrays, ``result.names``)."""
    boxes = getattr(result, "boxes", None)
    if boxes is None:
        raise PredictionsError("expected an Ultralytics Results object with .boxes")
    height, width = (None, None)
    shape = getattr(result, "orig_shape", None)
    if shape is not None:
        height, width = int(shape[0]), int(shape[1])
    return RawDetections(
        _to_numpy(boxes.xyxy),
        _to_numpy(boxes.conf),
        _to_numpy(boxes.cls).astype(np.int64),
        class_names=getattr(result, "names", None),
        image_width=width,
        image_height=height,
    )


def _to_numpy(value: Any) -> Any:
    """Tensors (torch, on any device) and arrays alike to NumPy, without importing torch."""
    for step in ("detach", "cpu", "numpy"):
        if hasattr(value, step):
            value = getattr(value, step)()
    return np.asarray(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(item: Mapping[str, Any], key: str, where: str) -> float:
    """A finite number (JSON int or float; not a bool, a string or null)."""
    if key not in item:
        raise PredictionsError(f"{where} is missing the key {key!r}")
    value = item[key]
    if not _is_number(value):
        raise PredictionsError(f"{where}.{key} must be a number; got {_show(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise PredictionsError(f"{where}.{key} must be a finite number; got {_show(value)}")
    return number


def _class_name(item: Mapping[str, Any], where: str) -> str:
    if "class" not in item:
        raise PredictionsError(f"{where} is missing the key 'class'")
    value = item["class"]
    if not isinstance(value, str) or not value.strip():
        raise PredictionsError(f"{where}.class must be a non-empty string; got {_show(value)}")
    return value


def _integer(value: Any) -> int | None:
    """``value`` as an int when it is a JSON integer (or an integral float) within 64 bits."""
    if not _is_number(value):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _class_id(item: Mapping[str, Any], where: str) -> int:
    """The optional ``class_id`` (-1 when absent): an integer within 64 bits."""
    if "class_id" not in item:
        return -1
    value = _integer(item["class_id"])
    if value is None:
        raise PredictionsError(
            f"{where}.class_id must be an integer within 64 bits; got {_show(item['class_id'])}"
        )
    return value


def _image_side(image: Mapping[str, Any], key: str) -> int | None:
    if image.get(key) is None:
        return None
    value = _integer(image[key])
    if value is None or not 0 < value <= _MAX_SIDE:
        raise PredictionsError(
            f"image.{key} must be a positive integer (at most {_MAX_SIDE:,}); got {_show(image[key])}"
        )
    return value


def _show(value: Any) -> str:
    text = "null" if value is None else repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_SIDE = 1_000_000
