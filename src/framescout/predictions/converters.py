"""Converters between `Predictions` and other detection formats (Roboflow JSON, supervision, Ultralytics).

The third-party packages are never imported: objects are duck-typed, so they stay optional extras.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from framescout.predictions.core import Predictions, PredictionsError


def from_roboflow(payload: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Predictions:
    """Parse Roboflow's detection JSON: a response dict, or a bare list of prediction dicts."""
    width = height = None
    if isinstance(payload, Mapping):
        image = payload.get("image")
        if isinstance(image, Mapping):
            width, height = _optional_int(image.get("width")), _optional_int(image.get("height"))
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
        try:
            x, y = float(item["x"]), float(item["y"])
            w, h = float(item["width"]), float(item["height"])
            conf[i] = float(item["confidence"])
            name = str(item["class"])
        except KeyError as exc:
            raise PredictionsError(f"predictions[{i}] is missing the key {exc.args[0]!r}") from None
        except (TypeError, ValueError):
            raise PredictionsError(f"predictions[{i}] has a non-numeric coordinate or confidence") from None
        if w < 0 or h < 0:
            raise PredictionsError(f"predictions[{i}] has a negative width or height")
        boxes[i] = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        ids[i] = int(item.get("class_id", -1))
        names.append(name)
    return Predictions.from_arrays(boxes, conf, ids, class_name=names, image_width=width, image_height=height)


def to_roboflow(predictions: Predictions) -> dict[str, Any]:
    """Render as Roboflow's detection JSON (centre x/y, width, height in pixels)."""
    items = []
    for (x1, y1, x2, y2), c, cid, name in zip(
        predictions.xyxy.tolist(),
        predictions.confidence.tolist(),
        predictions.class_id.tolist(),
        predictions.class_name,
        strict=True,
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
    if predictions.image_width and predictions.image_height:
        payload["image"] = {"width": predictions.image_width, "height": predictions.image_height}
    return payload


def from_supervision(detections: Any, class_names: Sequence[str] | None = None) -> Predictions:
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
        return Predictions.from_arrays(xyxy, conf, ids, class_name=[str(x) for x in data["class_name"]])
    return Predictions.from_arrays(xyxy, conf, ids, class_names)


def from_ultralytics(result: Any) -> Predictions:
    """Convert one Ultralytics ``Results`` (``result.boxes`` tensors or arrays, ``result.names``)."""
    boxes = getattr(result, "boxes", None)
    if boxes is None:
        raise PredictionsError("expected an Ultralytics Results object with .boxes")
    height, width = (None, None)
    shape = getattr(result, "orig_shape", None)
    if shape is not None:
        height, width = int(shape[0]), int(shape[1])
    return Predictions.from_arrays(
        _to_numpy(boxes.xyxy),
        _to_numpy(boxes.conf),
        _to_numpy(boxes.cls).astype(np.int64),
        getattr(result, "names", None),
        image_width=width,
        image_height=height,
    )


def _to_numpy(value: Any) -> Any:
    """Tensors (torch, on any device) and arrays alike to NumPy, without importing torch."""
    for step in ("detach", "cpu", "numpy"):
        if hasattr(value, step):
            value = getattr(value, step)()
    return np.asarray(value)


def _optional_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        raise PredictionsError(f"image size must be an integer; got {value!r}") from None
