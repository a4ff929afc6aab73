"""`OnnxDetector`: run an ONNX object detector with ONNX Runtime on the CPU and return `Predictions`."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import numpy as np

from framescout.imaging import to_bgr
from framescout.models.base import ModelError
from framescout.models.classes import names_from
from framescout.models.decoders import Layout, detect_layout, layout_for
from framescout.models.nms import nms_per_class
from framescout.predictions import Predictions

DEFAULT_SIZE = {"nanodet": (416, 416)}
FALLBACK_SIZE = (640, 640)


class OnnxDetector:
    """An ONNX detector of a known layout (auto-detected from the output shapes when unambiguous).

    Class names come from ``class_names``, else from the model's own metadata (Ultralytics exports
    store them), else the ids as text."""

    def __init__(
        self,
        path: str | Path,
        *,
        class_names: tuple[str, ...] | list[str] | None = None,
        format: str | None = None,
        input_size: tuple[int, int] | None = None,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(
                f"{self.path} is not a loadable ONNX model: {str(exc).splitlines()[0]}"
            ) from None
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        shape = list(model_input.shape)
        if len(shape) != 4:
            raise ModelError(f"{self.path}: expected an image input [1, 3, H, W]; got {shape}")
        outputs = [tuple(o.shape) for o in self._session.get_outputs()]
        size_from_model = (
            (shape[3], shape[2]) if isinstance(shape[2], int) and isinstance(shape[3], int) else None
        )
        guess = input_size or size_from_model or FALLBACK_SIZE
        self.layout: Layout = layout_for(format) if format else detect_layout(outputs, guess)
        self.format = format or self.layout.name
        self.input_size: tuple[int, int] = (
            input_size or size_from_model or DEFAULT_SIZE.get(self.layout.name, FALLBACK_SIZE)
        )
        classes = self.layout.class_count(outputs)
        names = tuple(class_names) if class_names is not None else self._names_from_metadata(classes)
        if classes is not None and len(names) != classes:
            raise ModelError(
                f"{self.path} predicts {classes} classes but {len(names)} class names were given"
            )
        self.class_names: tuple[str, ...] = names

    def _names_from_metadata(self, classes: int | None) -> tuple[str, ...]:
        meta = self._session.get_modelmeta().custom_metadata_map
        if "names" in meta:
            try:
                return names_from(ast.literal_eval(meta["names"]), f"{self.path} metadata")
            except (ValueError, SyntaxError, ModelError):
                pass
        return tuple(str(i) for i in range(classes or 0))

    def predict(
        self,
        image: Any,
        confidence: float = 0.35,
        iou: float = 0.6,
        *,
        multi_label: bool = False,
        max_detections: int = 300,
    ) -> Predictions:
        """Detect objects in ``image`` (BGR array, PIL image or path); boxes in original-image pixels.

        By default each box takes its best class (what a deployed model reports). ``multi_label``
        keeps every (box, class) pair above ``confidence`` before per-class NMS — the standard for
        mAP evaluation, as in NanoDet's and Ultralytics' own validation."""
        bgr = to_bgr(image)
        blob, box = self.layout.preprocess(bgr, self.input_size)
        outputs = self._session.run(None, {self._input_name: blob})
        decoded = self.layout.decode([np.asarray(o, dtype=np.float32) for o in outputs], self.input_size)
        if multi_label:
            rows, labels = np.nonzero(decoded.scores >= confidence)
        else:
            best = decoded.scores.max(axis=1) if decoded.scores.size else np.zeros(0, dtype=np.float32)
            rows = np.flatnonzero(best >= confidence)
            labels = decoded.scores[rows].argmax(axis=1) if len(rows) else np.zeros(0, dtype=np.int64)
        scores = decoded.scores[rows, labels]
        keep = nms_per_class(decoded.xyxy[rows], scores, labels, iou)[:max_detections]
        if len(keep) and labels[keep].max() >= len(self.class_names):
            raise ModelError(f"the model predicted class {int(labels[keep].max())}, beyond its class names")
        xyxy = box.unmap(decoded.xyxy[rows[keep]])
        visible = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])  # boxes that lay in the padding
        keep, xyxy = keep[visible], xyxy[visible]
        return Predictions.from_arrays(
            xyxy,
            np.clip(scores[keep], 0.0, 1.0),
            labels[keep],
            self.class_names,
            image_width=bgr.shape[1],
            image_height=bgr.shape[0],
            class_probs=decoded.probs[rows[keep]],
        )

    def __repr__(self) -> str:
        return f"OnnxDetector({self.path.name!r}, format={self.format!r}, {len(self.class_names)} classes)"
