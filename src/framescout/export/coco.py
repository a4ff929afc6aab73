"""COCO detection export: one folder per split with its images and ``_annotations.coco.json``
(the layout Roboflow exports), loadable by pycocotools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from framescout.export.dataset import SPLITS, ExportDataset


def write_coco(root: Path, dataset: ExportDataset) -> None:
    """Write ``root/{split}/_annotations.coco.json`` and the images; category ids start at 1."""
    categories = [
        {"id": i + 1, "name": name, "supercategory": "none"} for i, name in enumerate(dataset.classes)
    ]
    for split in SPLITS:
        images = dataset.split(split)
        if not images:
            continue
        folder = root / split
        folder.mkdir(parents=True)
        coco: dict[str, Any] = {
            "info": {"description": dataset.name, "version": "1"},
            "images": [],
            "annotations": [],
            "categories": categories,
        }
        for image_id, image in enumerate(images, start=1):
            name = dataset.copy_image(image, folder)
            coco["images"].append(
                {"id": image_id, "file_name": name, "width": image.width, "height": image.height}
            )
            for box in image.boxes:
                coco["annotations"].append(
                    {
                        "id": len(coco["annotations"]) + 1,
                        "image_id": image_id,
                        "category_id": dataset.class_id(box.class_name) + 1,
                        "bbox": [
                            round(box.x_min, 2),
                            round(box.y_min, 2),
                            round(box.width, 2),
                            round(box.height, 2),
                        ],
                        "area": round(box.width * box.height, 2),
                        "iscrowd": int(box.iscrowd),
                        "segmentation": [],
                    }
                )
        (folder / "_annotations.coco.json").write_text(json.dumps(coco))
