"""Hosted inference: registered ONNX models, loaded once per process and shared by requests."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from framescout.models import ModelError, OnnxDetector
from framescout.predictions import Predictions
from framescout.store.errors import StoreError
from framescout.store.models import ModelVersion


class ModelRegistry:
    """Loads each registered model version on first use (``framescout.models.OnnxDetector``)."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._loaded: dict[tuple[str, str | None, tuple[str, ...]], OnnxDetector] = {}
        self._lock = threading.Lock()

    def detector(self, model: ModelVersion) -> OnnxDetector:
        key = (model.onnx_sha256, model.format, tuple(model.class_names))
        with self._lock:
            found = self._loaded.get(key)
            if found is not None:
                return found
            path = self.models_dir / f"{model.onnx_sha256}.onnx"
            if not path.exists():
                raise StoreError("model_file_missing", f"the model file {path.name} is missing", status=503)
            try:
                detector = OnnxDetector(str(path), class_names=list(model.class_names), format=model.format)
            except ModelError as exc:
                raise StoreError(
                    "model_unusable", f"version {model.version} cannot be loaded: {exc}", status=503
                ) from None
            self._loaded[key] = detector
            return detector

    def predict(self, model: ModelVersion, image: Any, *, confidence: float, iou: float) -> Predictions:
        """Run the model on a decoded image; thresholds in [0, 1]."""
        result: Predictions = self.detector(model).predict(image, confidence=confidence, iou=iou)
        return result
