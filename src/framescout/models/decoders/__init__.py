"""Output layouts of common detector exports, and picking one from the output shapes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from framescout.models.base import ModelError
from framescout.models.decoders.base import Decoded, Layout, Shape
from framescout.models.decoders.nanodet import NanoDet
from framescout.models.decoders.yolov5 import YoloV5
from framescout.models.decoders.yolov8 import YoloV8
from framescout.models.decoders.yolox import Yolox

LAYOUTS: dict[str, Callable[[], Layout]] = {
    "nanodet": NanoDet,
    "yolov8": YoloV8,
    "yolo11": YoloV8,  # the same layout as yolov8
    "yolov5": YoloV5,
    "yolox": Yolox,
    "yolox-decoded": lambda: Yolox(decoded=True),
}
"""Every layout by the name ``--format`` / ``format=`` takes; the one registry of layouts."""
FORMATS = tuple(LAYOUTS)
DETECTED = ("nanodet", "yolov8", "yolov5", "yolox")
"""The layouts `detect_layout` tries (one per output shape; aliases and variants are asked for by name)."""


def layout_for(fmt: str) -> Layout:
    """The layout named ``fmt`` (see `LAYOUTS`)."""
    try:
        make = LAYOUTS[fmt]
    except KeyError:
        raise ModelError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}") from None
    return make()


def detect_layout(outputs: Sequence[Shape], input_size: tuple[int, int]) -> Layout:
    """Recognise the layout from the output shapes; refuse when none or several fit."""
    layouts = (LAYOUTS[name]() for name in DETECTED)
    candidates = [layout for layout in layouts if layout.matches(outputs, input_size)]
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


__all__ = ["DETECTED", "FORMATS", "LAYOUTS", "Decoded", "Layout", "detect_layout", "layout_for"]
