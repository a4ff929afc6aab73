"""What every model runner is: something that turns an image into `Predictions`."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from framescout.predictions import Predictions


class ModelError(ValueError):
    """A model that cannot be loaded or run as asked (not ONNX, unknown layout, class-count mismatch)."""


@runtime_checkable
class Detector(Protocol):
    """An object detector: ``predict(image) -> Predictions`` in original-image pixels."""

    class_names: tuple[str, ...]

    def predict(self, image: Any, confidence: float = 0.35, iou: float = 0.6) -> Predictions:
        """Detect objects in ``image`` (BGR array, PIL image or path)."""
        ...
