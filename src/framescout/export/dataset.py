"""The neutral description every exporter reads: images with their split, boxes and pre-labels.

Exporters never touch the database; the server (or a dataset version) builds an `ExportDataset`
and hands it to a writer, so each format is a small pure function that is easy to test. Boxes are
the stored `Box` (`framescout.predictions.box`), in pixels.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from framescout.predictions.box import Box

SPLITS = ("train", "valid", "test")
SHORT_SPLITS = {"train": "train", "valid": "val", "test": "test"}
"""The split names of formats that say ``val`` (YOLO's ``data.yaml``, VOC's ``ImageSets``)."""


@dataclass(frozen=True)
class ExportImage:
    """One image: a stable id, a file name, its size and split, ground truth and (optional) predictions."""

    id: str
    file_name: str
    width: int
    height: int
    split: str = "train"
    boxes: Sequence[Box] = ()
    predictions: Sequence[Box] = ()
    model_version: str | None = None
    sha256: str | None = None


@dataclass
class ExportDataset:
    """What to export: class names in id order, the images, and how to read an image's bytes.

    ``class_order`` says where the id order comes from (a model's class list, the project's fixed
    list, first seen); writers that can carry a comment (YOLO's ``data.yaml``) repeat it."""

    name: str
    classes: Sequence[str]
    images: Sequence[ExportImage]
    read_bytes: Callable[[ExportImage], bytes]
    class_order: str = ""
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

    def copy_image(self, image: ExportImage, folder: Path) -> str:
        """Write ``image``'s bytes into ``folder`` under its `file_name`, and return that name."""
        name = self.file_name(image)
        (folder / name).write_bytes(self.read_bytes(image))
        return name


def split_off_val(dataset: ExportDataset, fraction: float, seed: int = 0) -> tuple[ExportDataset, int]:
    """When ``dataset`` has no ``valid`` images, move ``fraction`` of its ``train`` images there.

    The share is chosen by a hash of each image's content (or id) and ``seed``, so the same export
    always splits the same way; at least one image moves when ``fraction > 0`` and at least one stays
    in train. Returns the dataset (the same one when nothing moved) and how many images moved."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"the validation fraction must be at least 0 and below 1; got {fraction}")
    train = dataset.split("train")
    if dataset.split("valid") or fraction == 0.0 or len(train) < 2:
        return dataset, 0
    count = min(len(train) - 1, max(1, round(fraction * len(train))))

    def key(image: ExportImage) -> str:
        return hashlib.sha256(f"{seed}:{image.sha256 or image.id}".encode()).hexdigest()

    moved = {image.id for image in sorted(train, key=key)[:count]}
    images = [dataclasses.replace(i, split="valid") if i.id in moved else i for i in dataset.images]
    return (
        ExportDataset(dataset.name, dataset.classes, images, dataset.read_bytes, dataset.class_order),
        count,
    )


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """The last path component of ``name`` with anything unusual replaced; never ``.`` or ``..``."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip("._")
    return base
