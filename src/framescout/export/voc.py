"""Pascal VOC export: ``JPEGImages/``, one ``Annotations/*.xml`` per image (1-based pixel corners, as
VOC defines them) and ``ImageSets/Main/{train,val,test}.txt``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from framescout.export.dataset import SHORT_SPLITS, ExportDataset


def write_voc(root: Path, dataset: ExportDataset) -> None:
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (root / sub).mkdir(parents=True)
    sets: dict[str, list[str]] = {name: [] for name in SHORT_SPLITS.values()}
    for image in dataset.images:
        name = dataset.copy_image(image, root / "JPEGImages")
        stem = Path(name).stem
        sets[SHORT_SPLITS[image.split]].append(stem)
        ann = ET.Element("annotation")
        ET.SubElement(ann, "folder").text = "JPEGImages"
        ET.SubElement(ann, "filename").text = name
        size = ET.SubElement(ann, "size")
        for tag, value in (("width", image.width), ("height", image.height), ("depth", 3)):
            ET.SubElement(size, tag).text = str(value)
        ET.SubElement(ann, "segmented").text = "0"
        for box in image.boxes:
            obj = ET.SubElement(ann, "object")
            ET.SubElement(obj, "name").text = box.class_name
            ET.SubElement(obj, "pose").text = "Unspecified"
            ET.SubElement(obj, "truncated").text = "0"
            ET.SubElement(obj, "difficult").text = "0"
            bnd = ET.SubElement(obj, "bndbox")
            corners = (box.x_min + 1, box.y_min + 1, box.x_max, box.y_max)
            for tag, coord in zip(("xmin", "ymin", "xmax", "ymax"), corners, strict=True):
                ET.SubElement(bnd, tag).text = str(round(coord))
        ET.ElementTree(ann).write(
            root / "Annotations" / f"{stem}.xml", encoding="utf-8", xml_declaration=True
        )
    for split, stems in sets.items():
        if stems:
            (root / "ImageSets" / "Main" / f"{split}.txt").write_text("\n".join(stems) + "\n")
