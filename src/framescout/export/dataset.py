"""The neutral description every exporter reads: images with their split, boxes and pre-labels.

Exporters never touch the database; the server (or a dataset version) builds an `ExportDataset`
and hands it to a writer, so each format is a small pure function that is easy to test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class ExportBox:
    """One box in pixels (corners), with a confidence for predictions (``None`` for ground truth)."""

    class_name: str
    x1: float
    y1: float
    x2: float
    y2: float
    confidence: float | None = None

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1


@dataclass(frozen=True)
class ExportImage:
    """One image: a stable id, a file name, its size and split, ground truth and (optional) predictions."""

    id: str
    file_name: str
    width: int
    height: int
    split: str = "train"
    boxes: Sequence[ExportBox] = ()
    predictions: Sequence[ExportBox] = ()
    model_version: str | None = None
    sha256: str | None = None


@dataclass
class ExportDataset:
    """What to export: class names in id order, the images, and how to read an image's bytes."""

    name: str
    classes: Sequence[str]
    images: Sequence[ExportImage]
    read_bytes: Callable[[ExportImage], bytes]
    _names: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        known = set(self.classes)
        for image in self.images:
            if image.split not in SPLITS:
                raise ValueError(f"image {image.id}: split must be one of {SPLITS}; got {image.split!r}")
            unknown = {b.class_name for b in image.boxes} - known
            if unknown:
                raise ValueError(
                    f"image {image.id}: classes not in the project: {', '.join(sorted(unknown))}"
                )

    def class_id(self, name: str) -> int:
        return list(self.classes).index(name)

    def split(self, split: str) -> list[ExportImage]:
        return [image for image in self.images if image.split == split]

    def file_name(self, image: ExportImage) -> str:
        """A safe, unique file name for ``image`` (no directories, no clashes between images)."""
        if image.id not in self._names:
            base = safe_name(image.file_name) or f"{image.id}.jpg"
            taken = set(self._names.values())
            name = base if base not in taken else f"{image.id}_{base}"
            self._names[image.id] = name
        return self._names[image.id]


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """The last path component of ``name`` with anything unusual replaced; never ``.`` or ``..``."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip("._")
    return base
