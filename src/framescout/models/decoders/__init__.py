"""Output layouts of common detector exports, and picking one from the output shapes."""

from __future__ import annotations

from collections.abc import Sequence

from framescout.models.base import ModelError
from framescout.models.decoders.base import Decoded, Layout, Shape
from framescout.models.decoders.nanodet import NanoDet
from framescout.models.decoders.yolov5 import YoloV5
from framescout.models.decoders.yolov8 import YoloV8
from framescout.models.decoders.yolox import Yolox

FORMATS = ("nanodet", "yolov8", "yolo11", "yolov5", "yolox", "yolox-decoded")


def layout_for(fmt: str) -> Layout:
    """The layout named ``fmt`` (``yolo11`` is the same layout as ``yolov8``)."""
    layouts: dict[str, Layout] = {
        "nanodet": NanoDet(),
        "yolov8": YoloV8(),
        "yolo11": YoloV8(),
        "yolov5": YoloV5(),
        "yolox": Yolox(),
        "yolox-decoded": Yolox(decoded=True),
    }
    try:
        return layouts[fmt]
    except KeyError:
        raise ModelError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}") from None


def detect_layout(outputs: Sequence[Shape], input_size: tuple[int, int]) -> Layout:
    """Recognise the layout from the output shapes; refuse when none or several fit."""
    candidates = [
        layout for layout in (NanoDet(), YoloV8(), YoloV5(), Yolox()) if layout.matches(outputs, input_size)
    ]
    if len(candidates) == 1:
        return candidates[0]
    seen = ", ".join(str(list(s)) for s in outputs)
    if not candidates:
        raise ModelError(
            f"cannot recognise the output layout (outputs {seen} for a "
            f"{input_size[0]}x{input_size[1]} input); "
            f"pass format= one of {', '.join(FORMATS)}"
        )
    names = ", ".join(c.name for c in candidates)
    raise ModelError(f"the outputs {seen} fit several layouts ({names}); pass format= to choose")


__all__ = ["FORMATS", "Decoded", "Layout", "detect_layout", "layout_for"]
