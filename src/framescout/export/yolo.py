"""YOLO export in Ultralytics' dataset layout: ``data.yaml`` plus ``images/{split}`` and
``labels/{split}`` with one ``class cx cy w h`` line per box, normalised to [0, 1].

``data.yaml`` starts with comments saying where the class id order comes from and, when the export
has no validation images, that ``val`` points at the training images (Ultralytics requires a ``val``
entry; `split_off_val` / ``--val-fraction`` makes a real one)."""

from __future__ import annotations

from pathlib import Path

import yaml

from framescout.export.dataset import SHORT_SPLITS, SPLITS, ExportDataset


def write_yolo(root: Path, dataset: ExportDataset) -> None:
    present = [split for split in SPLITS if dataset.split(split)]
    for split in present:
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for image in dataset.split(split):
            name = dataset.copy_image(image, root / "images" / split)
            lines = []
            for box in image.boxes:
                cx, cy = box.center[0] / image.width, box.center[1] / image.height
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
        config[SHORT_SPLITS[split]] = f"images/{split}"
    comments = [f"class ids: {dataset.class_order or 'the order of the project class list'}"]
    if "val" not in config and "train" in config:
        config["val"] = config["train"]  # Ultralytics requires a val entry
        comments.append(
            "val: this export has NO validation images; val points at the training images, so "
            "validation metrics measure the training set. Re-export with --val-fraction 0.1 "
            "(or give images the valid split) for a held-out set."
        )
    header = "".join(f"# {' '.join(line.split())}\n" for line in comments)
    (root / "data.yaml").write_text(header + yaml.safe_dump(config, sort_keys=False))
