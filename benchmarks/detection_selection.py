"""Benchmark: do the selection strategies find the images where the detector is wrong?

NanoDet-m runs over all 160 images of ../shared/data/coco-tiny. Each strategy picks a 20% budget
(32 images); we count the model's errors inside the pick — false positives and misses at IoU 0.5 for
detections scoring >= 0.35 — per selected image and per ground-truth box in the selection, against
random selection (mean of 500 draws). A strategy that finds hard images contains more errors.

    python benchmarks/detection_selection.py [--budget 0.2] [--draws 500]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from framescout.imaging import read_image_file, to_bgr
from framescout.models import OnnxDetector, load_class_names
from framescout.predictions import Predictions
from framescout.selection import STRATEGIES, ColorTexture, Pool, select

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
ERROR_SCORE, IOU = 0.35, 0.5


def iou_matrix(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return np.asarray(inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9), dtype=np.float64)


def errors(p: Predictions, truth: list[tuple[str, list[float]]]) -> tuple[int, int]:
    """(false positives, misses): greedy matching by score within each class at IoU 0.5."""
    keep = p.confidence >= ERROR_SCORE
    boxes, names, scores = (
        p.xyxy[keep],
        [n for n, k in zip(p.class_name, keep, strict=True) if k],
        p.confidence[keep],
    )
    matched_truth: set[int] = set()
    false_positives = 0
    for i in np.argsort(-scores):
        candidates = [j for j, (cls, _) in enumerate(truth) if cls == names[i] and j not in matched_truth]
        if candidates:
            gt = np.array([truth[j][1] for j in candidates], dtype=np.float64)
            overlaps = iou_matrix(boxes[i : i + 1], gt)[0]
            best = int(np.argmax(overlaps))
            if overlaps[best] >= IOU:
                matched_truth.add(candidates[best])
                continue
        false_positives += 1
    return false_positives, len(truth) - len(matched_truth)


def load_truth(coco: Path) -> tuple[list[Path], list[list[tuple[str, list[float]]]]]:
    paths, truths = [], []
    for split in ("train2017", "val2017"):
        data = json.loads((coco / "annotations" / f"instances_{split}.json").read_text())
        names = {c["id"]: c["name"] for c in data["categories"]}
        by_image: dict[int, list[tuple[str, list[float]]]] = {img["id"]: [] for img in data["images"]}
        for ann in data["annotations"]:
            if ann.get("iscrowd"):
                continue
            x, y, w, h = ann["bbox"]
            by_image[ann["image_id"]].append((names[ann["category_id"]], [x, y, x + w, y + h]))
        for img in sorted(data["images"], key=lambda i: i["file_name"]):
            paths.append(coco / split / img["file_name"])
            truths.append(by_image[img["id"]])
    return paths, truths


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=float, default=0.2)
    parser.add_argument("--draws", type=int, default=500)
    args = parser.parse_args()
    model, coco = SHARED / "models" / "nanodet-m" / "nanodet_m.onnx", SHARED / "data" / "coco-tiny"
    if not model.exists() or not coco.exists():
        print(f"skipped: needs {model} and {coco} (the ../shared data folder)")
        return
    detector = OnnxDetector(model, class_names=load_class_names(model.parent / "coco.names"))
    paths, truths = load_truth(coco)
    images = [to_bgr(read_image_file(p)) for p in paths]
    predictions = [detector.predict(image, confidence=0.2) for image in images]
    embeddings = ColorTexture().embed(images)
    found = np.array([errors(p, t) for p, t in zip(predictions, truths, strict=True)])  # (n, 2)
    gt_boxes = np.array([len(t) for t in truths])
    n, k = len(images), round(len(images) * args.budget)
    pool = Pool(predictions=predictions, embeddings=embeddings)

    def row(picked: NDArray[np.intp]) -> tuple[float, float, float]:
        errs = found[picked].sum()
        return (
            errs / len(picked),
            errs / max(int(gt_boxes[picked].sum()), 1),
            found[picked, 1].sum() / len(picked),
        )

    rng = np.random.default_rng(0)
    draws = np.array([row(rng.permutation(n)[:k].astype(np.intp)) for _ in range(args.draws)])
    base = draws.mean(axis=0)
    print(
        f"NanoDet-m on coco-tiny ({n} images, {int(gt_boxes.sum())} boxes), "
        f"budget {k} images ({args.budget:.0%});"
    )
    print(f"errors = false positives + misses at IoU {IOU}, detections scoring >= {ERROR_SCORE}")
    print(
        f"{'strategy':<18} {'errors/image':>12} {'errors/GT box':>14} {'misses/image':>13} {'vs random':>10}"
    )
    print(f"{'random (mean)':<18} {base[0]:12.2f} {base[1]:14.3f} {base[2]:13.2f} {'1.00x':>10}")
    for name in STRATEGIES:
        if name == "random":
            continue
        figures = row(select(pool, k, name, seed=0))
        print(
            f"{name:<18} {figures[0]:12.2f} {figures[1]:14.3f} {figures[2]:13.2f} "
            f"{figures[0] / base[0]:9.2f}x"
        )


if __name__ == "__main__":
    main()
