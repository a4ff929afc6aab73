"""The `Predictions` container: one frame's detections as NumPy arrays, in pixels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from framescout.predictions import converters
from framescout.predictions.errors import FloatArray, IntArray, PredictionsError

__all__ = ["FloatArray", "IntArray", "Predictions", "PredictionsError"]


@dataclass(frozen=True, eq=False)
class Predictions:
    """One frame's detections.

    Boxes are ``xyxy`` corners in pixels of the original image; ``confidence`` is in [0, 1];
    ``class_name`` holds one name per box; ``class_probs`` (optional, ``(N, C)``) holds the full
    per-class distribution when the model exposes it (used by margin and entropy scores).
    """

    xyxy: FloatArray
    confidence: FloatArray
    class_id: IntArray
    class_name: tuple[str, ...]
    image_width: int | None = None
    image_height: int | None = None
    class_probs: FloatArray | None = None
    _names_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = self.confidence.shape[0] if self.confidence.ndim == 1 else -1
        if self.xyxy.shape != (n, 4):
            raise PredictionsError(f"xyxy must have shape (N, 4); got {self.xyxy.shape} for {n} confidences")
        if self.class_id.shape != (n,) or len(self.class_name) != n:
            raise PredictionsError(
                f"class_id and class_name must have one entry per box ({n}); "
                f"got {self.class_id.shape[0]} and {len(self.class_name)}"
            )
        if self.class_probs is not None and (self.class_probs.ndim != 2 or self.class_probs.shape[0] != n):
            raise PredictionsError(f"class_probs must have shape (N, C); got {self.class_probs.shape}")
        for name, value in (("image_width", self.image_width), ("image_height", self.image_height)):
            if value is not None and value <= 0:
                raise PredictionsError(f"{name} must be positive; got {value}")
        object.__setattr__(self, "_names_set", frozenset(self.class_name))

    # ----------------------------------------------------------------- constructors
    @classmethod
    def from_arrays(
        cls,
        xyxy: Any,
        confidence: Any,
        class_id: Any,
        class_names: Sequence[str] | Mapping[int, str] | None = None,
        *,
        class_name: Sequence[str] | None = None,
        image_width: int | None = None,
        image_height: int | None = None,
        class_probs: Any = None,
    ) -> Predictions:
        """Build from array-likes; names come per box (``class_name``) or from a vocabulary by id."""
        boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
        ids = np.asarray(class_id, dtype=np.int64).reshape(-1)
        if class_name is None:
            class_name = tuple(_lookup_name(class_names, int(i)) for i in ids)
        if conf.size and (not np.isfinite(conf).all() or conf.min() < 0 or conf.max() > 1):
            raise PredictionsError("confidence values must be finite and within [0, 1]")
        if boxes.size and not np.isfinite(boxes).all():
            raise PredictionsError("box coordinates must be finite")
        probs = None if class_probs is None else np.asarray(class_probs, dtype=np.float64)
        return cls(
            xyxy=boxes,
            confidence=conf,
            class_id=ids,
            class_name=tuple(str(n) for n in class_name),
            image_width=image_width,
            image_height=image_height,
            class_probs=probs,
        )

    @classmethod
    def empty(cls, image_width: int | None = None, image_height: int | None = None) -> Predictions:
        """A frame on which the model detected nothing."""
        return cls.from_arrays(
            np.zeros((0, 4)),
            np.zeros(0),
            np.zeros(0),
            class_name=(),
            image_width=image_width,
            image_height=image_height,
        )

    @classmethod
    def _from_detections(cls, found: converters.RawDetections) -> Predictions:
        """From what a converter read (arrays and names; `converters.RawDetections`), checked."""
        return cls.from_arrays(
            found.xyxy,
            found.confidence,
            found.class_id,
            found.class_names,
            class_name=found.class_name,
            image_width=found.image_width,
            image_height=found.image_height,
        )

    @classmethod
    def from_roboflow(
        cls,
        payload: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        default_confidence: float | None = None,
    ) -> Predictions:
        """From Roboflow's inference JSON (centre x/y, width, height, ``class``, ``confidence``);
        ``default_confidence`` fills a missing confidence (boxes a person drew)."""
        return cls._from_detections(converters.from_roboflow(payload, default_confidence=default_confidence))

    @classmethod
    def from_supervision(cls, detections: Any, class_names: Sequence[str] | None = None) -> Predictions:
        """From a ``supervision.Detections`` (duck-typed; supervision is not required)."""
        return cls._from_detections(converters.from_supervision(detections, class_names))

    @classmethod
    def from_ultralytics(cls, result: Any) -> Predictions:
        """From one Ultralytics ``Results`` object (duck-typed; ultralytics is not required)."""
        return cls._from_detections(converters.from_ultralytics(result))

    def to_roboflow(self) -> dict[str, Any]:
        """To Roboflow's inference JSON shape (``{"predictions": [...], "image": {...}}``)."""
        return converters.to_roboflow(
            self.xyxy, self.confidence, self.class_id, self.class_name, self.image_width, self.image_height
        )

    # ----------------------------------------------------------------- views
    def __len__(self) -> int:
        return int(self.confidence.shape[0])

    def __getitem__(self, index: Any) -> Predictions:
        """Select boxes by boolean mask, index array or slice; image size is kept."""
        keep = np.arange(len(self))[index]
        keep = np.atleast_1d(keep)
        return Predictions(
            xyxy=self.xyxy[keep],
            confidence=self.confidence[keep],
            class_id=self.class_id[keep],
            class_name=tuple(self.class_name[int(i)] for i in keep),
            image_width=self.image_width,
            image_height=self.image_height,
            class_probs=None if self.class_probs is None else self.class_probs[keep],
        )

    @property
    def area(self) -> FloatArray:
        """Box areas in square pixels (what Roboflow's size conditionals compare)."""
        wh = self.xyxy[:, 2:] - self.xyxy[:, :2]
        return wh[:, 0] * wh[:, 1]

    @property
    def names_present(self) -> frozenset[str]:
        """The distinct class names in this frame."""
        return self._names_set

    def scale(self, factor: float) -> Predictions:
        """The same detections on an image resized by ``factor`` (boxes and image size scaled)."""
        return Predictions(
            xyxy=self.xyxy * factor,
            confidence=self.confidence,
            class_id=self.class_id,
            class_name=self.class_name,
            image_width=None if self.image_width is None else max(1, round(self.image_width * factor)),
            image_height=None if self.image_height is None else max(1, round(self.image_height * factor)),
            class_probs=self.class_probs,
        )

    def with_classes(self, names: Iterable[str]) -> Predictions:
        """Only the boxes whose class name is in ``names``."""
        wanted = set(names)
        return self[np.fromiter((n in wanted for n in self.class_name), dtype=bool, count=len(self))]

    def __repr__(self) -> str:
        size = f"{self.image_width}x{self.image_height}" if self.image_width else "unknown size"
        return f"Predictions({len(self)} boxes, {size}, classes={sorted(self._names_set)})"


def _lookup_name(names: Sequence[str] | Mapping[int, str] | None, class_id: int) -> str:
    if names is None:
        return str(class_id)
    try:
        return names[class_id]
    except (IndexError, KeyError):
        raise PredictionsError(f"class id {class_id} has no name in the class list") from None
