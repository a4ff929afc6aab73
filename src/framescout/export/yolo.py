"""YOLO export in Ultralytics' dataset layout: ``data.yaml`` plus ``images/{split}`` and
``labels/{split}`` with one ``class cx cy w h`` line per box, normalised to [0, 1]."""

from __future__ import annotations

from pathlib import Path

import yaml

from framescout.export.dataset import SPLITS, ExportDataset

_YAML_SPLIT = {"train": "train", "valid": "val", "test": "test"}


def write_yolo(root: Path, dataset: ExportDataset) -> None:
    present = [split for split in SPLITS if dataset.split(split)]
    for split in present:
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for image in dataset.split(split):
            name = dataset.file_name(image)
            (root / "images" / split / name).write_bytes(dataset.read_bytes(image))
            lines = []
            for box in image.boxes:
                cx = (box.x1 + box.x2) / 2 / image.width
                cy = (box.y1 + box.y2) / 2 / image.height
                w, h = box.width / image.width, box.height / image.height
                lines.append(f"{dataset.class_id(box.class_name)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
            label = root / "labels" / split / (Path(name).stem + ".txt")
            label.write_text("\n".join(lines) + ("\n" if lines else ""))
    config: dict[str, object] = {
        "path": ".",
        "names": dict(enumerate(dataset.classes)),
        "nc": len(dataset.classes),
    }
    for split in present:
        config[_YAML_SPLIT[split]] = f"images/{split}"
    if "val" not in config and "train" in config:
        config["val"] = config["train"]  # Ultralytics requires a val entry
    (root / "data.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
