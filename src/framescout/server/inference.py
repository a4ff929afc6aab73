"""Hosted inference: registered ONNX models, loaded once per process and shared by requests.

Each model is self-checked when first loaded (`framescout.models.verify_model`: one run on a blank
image, real output shapes and class count checked), so a broken registered model answers a clear 503
``model_unusable`` instead of a 500 on every request; the verdict is kept, the check runs once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from framescout.atomic import write_file_atomically
from framescout.imaging import sha256_hex
from framescout.models import ModelError, OnnxDetector, verify_model
from framescout.predictions import Predictions
from framescout.server.errors import Unavailable
from framescout.server.metrics import times_inference
from framescout.store.blobs import BlobStore
from framescout.store.models import ModelVersion

_Key = tuple[str, str | None, tuple[str, ...]]


class ModelRegistry:
    """Loads each registered model version on first use (``framescout.models.OnnxDetector``)."""

    def __init__(self, models_dir: Path, shared: BlobStore | None = None) -> None:
        self.models_dir = models_dir
        self.shared = shared
        """The shared blob store a model file is fetched from when this host does not have it yet."""
        self._loaded: dict[_Key, OnnxDetector] = {}
        self._broken: dict[_Key, str] = {}
        self._lock = threading.Lock()

    def detector(self, model: ModelVersion) -> OnnxDetector:
        """The loaded, checked detector of a version; 503 ``model_file_missing``/``model_unusable``."""
        key = (model.onnx_sha256, model.format, tuple(model.class_names))
        with self._lock:
            found = self._loaded.get(key)
            if found is not None:
                return found
            if key in self._broken:
                raise _unusable(model, self._broken[key])
            path = self.models_dir / f"{model.onnx_sha256}.onnx"
            if not path.exists() and not self._fetch(model.onnx_sha256, path):
                raise Unavailable("model_file_missing", f"the model file {path.name} is missing")
            try:
                detector, _ = verify_model(path, class_names=list(model.class_names), format=model.format)
            except ModelError as exc:
                self._broken[key] = str(exc).replace(str(path), path.name)
                raise _unusable(model, self._broken[key]) from None
            self._loaded[key] = detector
            return detector

    def _fetch(self, sha256: str, path: Path) -> bool:
        """Copy a model file from the shared blob store into this host's ``models/`` (a cache),
        hash-verified and atomic; False when the shared store does not have it either."""
        if self.shared is None:
            return False
        try:
            data = self.shared.get(sha256)
        except KeyError:
            return False
        if sha256_hex(data) != sha256:
            raise Unavailable("model_file_corrupt", f"the shared copy of model {sha256[:12]}… is corrupt")
        write_file_atomically(path, data, suffix=".part", fsync=False, shared=True)
        return True

    @times_inference
    def predict(self, model: ModelVersion, image: Any, *, confidence: float, iou: float) -> Predictions:
        """Run the model on a decoded image; thresholds in [0, 1]. A model that fails on this image
        answers 503 ``model_failed`` with the reason (never a 500)."""
        detector = self.detector(model)
        try:
            result: Predictions = detector.predict(image, confidence=confidence, iou=iou)
        except ModelError as exc:
            message = str(exc).replace(str(detector.path), detector.path.name)
            failed = f"version {model.version} failed on this image: {message}"
            raise Unavailable("model_failed", failed) from None
        return result


def _unusable(model: ModelVersion, reason: str) -> Unavailable:
    return Unavailable(
        "model_unusable",
        f"version {model.version} cannot be served: {reason}; register a working model with "
        "`framescout models add`",
    )
