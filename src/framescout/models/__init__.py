"""Model runners: ONNX Runtime for common detector exports (NanoDet, YOLOv8/YOLO11, YOLOv5, YOLOX) and
a hosted model over HTTP, all returning `Predictions`."""

from framescout.models.base import Detector, ModelError
from framescout.models.classes import load_class_names
from framescout.models.decoders import FORMATS, detect_layout, layout_for
from framescout.models.letterbox import Letterbox, letterbox
from framescout.models.onnx import ModelCheck, OnnxDetector, verify_model
from framescout.models.remote import RemoteDetector

__all__ = [
    "FORMATS",
    "Detector",
    "Letterbox",
    "ModelCheck",
    "ModelError",
    "OnnxDetector",
    "RemoteDetector",
    "detect_layout",
    "layout_for",
    "letterbox",
    "load_class_names",
    "verify_model",
]
