"""Export labelled data to the formats trainers read: COCO, YOLO (Ultralytics), Pascal VOC, Label Studio."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from framescout.export.coco import write_coco
from framescout.export.dataset import SPLITS, ExportDataset, ExportImage, safe_name, split_off_val
from framescout.export.labelstudio import write_labelstudio
from framescout.export.voc import write_voc
from framescout.export.writer import ExportError, write_atomically
from framescout.export.yolo import write_yolo
from framescout.predictions.box import Box

FORMATS: dict[str, Callable[[Path, ExportDataset], None]] = {
    "coco": write_coco,
    "yolo": write_yolo,
    "voc": write_voc,
    "labelstudio": write_labelstudio,
}


def export(dataset: ExportDataset, out: str | Path, fmt: str) -> Path:
    """Write ``dataset`` to the new folder ``out`` in format ``fmt`` (one of `FORMATS`), atomically."""
    try:
        writer = FORMATS[fmt]
    except KeyError:
        raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}") from None
    return write_atomically(Path(out), dataset, writer)


__all__ = [
    "FORMATS",
    "SPLITS",
    "Box",
    "ExportDataset",
    "ExportError",
    "ExportImage",
    "export",
    "safe_name",
    "split_off_val",
]
