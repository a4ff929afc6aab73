"""Label Studio export: a ``tasks.json`` list of tasks (image, ground truth as annotations, the model's
boxes as predictions/pre-annotations) plus the images, and a matching labelling config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from framescout.export.dataset import ExportDataset, ExportImage
from framescout.predictions.box import Box


def _results(image: ExportImage, boxes: list[Box] | tuple[Box, ...], origin: str) -> list[dict[str, Any]]:
    out = []
    for i, box in enumerate(boxes):
        result: dict[str, Any] = {
            "id": f"{image.id}-{origin}-{i}",
            "type": "rectanglelabels",
            "from_name": "label",
            "to_name": "image",
            "original_width": image.width,
            "original_height": image.height,
            "image_rotation": 0,
            "value": {
                "x": 100.0 * box.x_min / image.width,
                "y": 100.0 * box.y_min / image.height,
                "width": 100.0 * box.width / image.width,
                "height": 100.0 * box.height / image.height,
                "rotation": 0,
                "rectanglelabels": [box.class_name],
            },
        }
        if box.confidence is not None:
            result["score"] = box.confidence
        out.append(result)
    return out


def write_labelstudio(
    root: Path, dataset: ExportDataset, image_url_prefix: str = "/data/local-files/?d="
) -> None:
    """Images go to ``root/images``; each task's image URL is ``image_url_prefix + images/<name>``
    (Label Studio's local-files serving by default)."""
    (root / "images").mkdir(parents=True)
    tasks = []
    for image in dataset.images:
        name = dataset.copy_image(image, root / "images")
        task: dict[str, Any] = {
            "data": {
                "image": f"{image_url_prefix}images/{name}",
                "framescout_id": image.id,
                "split": image.split,
            },
        }
        if image.boxes:
            task["annotations"] = [{"result": _results(image, list(image.boxes), "gt")}]
        if image.predictions:
            scores = [b.confidence for b in image.predictions if b.confidence is not None]
            task["predictions"] = [
                {
                    "model_version": image.model_version or "unknown",
                    "score": min(scores) if scores else None,
                    "result": _results(image, list(image.predictions), "pred"),
                }
            ]
        tasks.append(task)
    (root / "tasks.json").write_text(json.dumps(tasks, indent=1))
    labels = "\n".join(f"    <Label value={quoteattr(name)}/>" for name in dataset.classes)
    config = (
        '<View>\n  <Image name="image" value="$image"/>\n'
        f'  <RectangleLabels name="label" toName="image">\n{labels}\n  </RectangleLabels>\n</View>\n'
    )
    (root / "labeling_config.xml").write_text(config)
