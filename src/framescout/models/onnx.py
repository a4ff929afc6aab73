"""`OnnxDetector`: run an ONNX object detector with ONNX Runtime on the CPU and return `Predictions`."""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from framescout.imaging import to_bgr
from framescout.models.base import ModelError
from framescout.models.classes import names_from
from framescout.models.decoders import Decoded, Layout, detect_layout, layout_for
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
            raise ModelError(f"{self.path} is not a loadable ONNX model: {_describe(exc)}") from None
        try:
            self._configure(class_names, format, input_size)
        except ModelError:
            raise
        except Exception as exc:  # an IndexError in a layout's shape logic, an odd graph, ...
            raise ModelError(f"{self.path} does not fit a supported layout: {_describe(exc)}") from None

    def _configure(
        self,
        class_names: tuple[str, ...] | list[str] | None,
        format: str | None,
        input_size: tuple[int, int] | None,
    ) -> None:
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(
                f"{self.path}: expected one image input [1, 3, H, W]; the model has {len(inputs)}"
            )
        model_input = inputs[0]
        self._input_name = model_input.name
        shape = list(model_input.shape)
        if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
            raise ModelError(f"{self.path}: expected an image input [1, 3, H, W]; got {shape}")
        if model_input.type != "tensor(float)":
            raise ModelError(f"{self.path}: expected a float32 image input; got {model_input.type}")
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
            shown = ", ".join(str(list(o)) for o in outputs)
            fits = self.layout.matches(outputs, self.input_size)
            hint = "" if fits else f" (its outputs {shown} do not fit the {self.layout.name} layout)"
            raise ModelError(
                f"{self.path} predicts {classes} classes but {len(names)} class names were given{hint}"
            )
        self.class_names: tuple[str, ...] = names

    def self_check(self) -> ModelCheck:
        """Run the model once on a blank image and prove it can be served: the real output shapes
        agree with the declared ones, the class count read from the real outputs matches the class
        names, decoding gives ``[N, 4]`` boxes and finite ``[N, C]`` scores, and thresholding and NMS
        run. Raises `ModelError` saying what is wrong (and whether the outputs fit the layout)."""
        width, height = self.input_size
        blank = np.full((height, width, 3), 114, dtype=np.uint8)
        started = time.perf_counter()
        raw = self._run(self.layout.preprocess(blank, self.input_size)[0])
        seconds = time.perf_counter() - started
        real = [tuple(int(d) for d in np.shape(o)) for o in raw]
        declared = [tuple(o.shape) for o in self._session.get_outputs()]
        for i, (want, got) in enumerate(zip(declared, real, strict=True)):
            if len(want) != len(got) or any(
                isinstance(w, int) and w != g for w, g in zip(want, got, strict=True)
            ):
                raise ModelError(
                    f"{self.path}: output {i} is declared as {list(want)} but the model really returns "
                    f"{list(got)}"
                )
        shown = ", ".join(str(list(r)) for r in real)
        size = f"{width}x{height}"
        fits = self.layout.matches(real, self.input_size)
        hint = "" if fits else f" (its real outputs {shown} for a {size} input do not fit {self.layout.name})"
        try:
            classes = self.layout.class_count(real)
        except Exception:  # a rank the layout cannot read
            raise ModelError(f"{self.path}: cannot serve the model as {self.layout.name}{hint}") from None
        if classes is not None and classes != len(self.class_names):
            raise ModelError(
                f"{self.path} really predicts {classes} classes but {len(self.class_names)} class names "
                f"were given{hint}"
            )
        decoded = self._decode(raw, hint)
        n, c = len(decoded.xyxy), len(self.class_names)
        if decoded.xyxy.shape != (n, 4) or decoded.scores.shape != (n, c) or decoded.probs.shape != (n, c):
            raise ModelError(
                f"{self.path}: decoding gave boxes {list(decoded.xyxy.shape)} and scores "
                f"{list(decoded.scores.shape)}, not [N, 4] and [N, {c}]{hint}"
            )
        if not (np.isfinite(decoded.xyxy).all() and np.isfinite(decoded.scores).all()):
            raise ModelError(f"{self.path}: the outputs hold NaN or infinite values on a blank {size} image")
        try:
            self.predict(blank, confidence=0.0)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"{self.path}: thresholding or NMS failed: {_describe(exc)}") from None
        return ModelCheck(self.format, self.input_size, tuple(real), len(self.class_names), seconds)

    def _run(self, blob: NDArray[np.float32]) -> list[Any]:
        try:
            return list(self._session.run(None, {self._input_name: blob}))
        except Exception as exc:  # onnxruntime's own error types
            raise ModelError(f"{self.path} failed to run: {_describe(exc)}") from None

    def _decode(self, raw: list[Any], hint: str = "") -> Decoded:
        try:
            return self.layout.decode([np.asarray(o, dtype=np.float32) for o in raw], self.input_size)
        except Exception as exc:  # the outputs do not have the layout's structure
            raise ModelError(
                f"{self.path}: its outputs cannot be decoded as {self.layout.name} ({_describe(exc)}){hint}"
            ) from None

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
        decoded = self._decode(self._run(blob))
        if decoded.scores.ndim != 2 or decoded.scores.shape[1] != len(self.class_names):
            raise ModelError(
                f"{self.path} returned scores {list(decoded.scores.shape)} "
                f"for {len(self.class_names)} classes"
            )
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


@dataclass(frozen=True)
class ModelCheck:
    """What `OnnxDetector.self_check` found: the layout, input size, real output shapes, class count."""

    format: str
    input_size: tuple[int, int]
    output_shapes: tuple[tuple[int, ...], ...]
    classes: int
    seconds: float

    def summary(self) -> str:
        shapes = ", ".join(str(list(s)) for s in self.output_shapes)
        width, height = self.input_size
        return (
            f"{self.format}, {width}x{height} input, outputs {shapes}, {self.classes} classes, "
            f"ran in {1000 * self.seconds:.0f} ms"
        )


def verify_model(
    path: str | Path,
    *,
    class_names: tuple[str, ...] | list[str] | None = None,
    format: str | None = None,
) -> tuple[OnnxDetector, ModelCheck]:
    """Load a model and run its self-check; any failure, expected or not, is a `ModelError` with a
    message for the user (registration and the server's model registry both use this)."""
    try:
        detector = OnnxDetector(path, class_names=class_names, format=format)
        return detector, detector.self_check()
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"{path} cannot be served: {_describe(exc)}") from None


def _describe(exc: BaseException) -> str:
    """A one-line account of an exception (onnxruntime's messages run over many lines)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__
