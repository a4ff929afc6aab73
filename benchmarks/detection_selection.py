"""Benchmark: do the selection strategies find the images where the detector is wrong?

Runs the product's own path, the functions `framescout select` calls (`selection.scoring.load_detector`,
`selection.pipeline.scan_pool` with its default score threshold and duplicate removal, `pick` with
its defaults): NanoDet-m over ../shared/data/coco-tiny (all 160 images, then each split half on its
own, a second and third pool). Each strategy picks 10%, 20% and 30% of the pool; we count the
model's errors inside the pick — false positives and misses at IoU 0.5 for detections scoring
>= 0.35 — per picked image and per ground-truth box in the pick, against random selection (mean of
500 draws). Strategies that draw at random (ties, k-center's first pick) are the mean of 5 seeds.
The box budget (`--budget-boxes`, 20% of the pool's expected boxes) is compared with random picks
made the same way (`select_boxes` with ``random``, 500 seeds).

    python benchmarks/detection_selection.py [--draws 500] [--seeds 5] [--views flip,rescale]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from framescout import models  # noqa: F401  (onnxruntime before usearch: the other order crashes on this machine)
from framescout.predictions import Predictions
from framescout.selection import STRATEGIES
from framescout.selection.budget import expected_boxes, select_boxes
from framescout.selection.folder import PoolItem, ScannedPool
from framescout.selection.pipeline import DEFAULT_VIEWS, DEFAULT_WITH_MODEL, pick, scan_pool
from framescout.selection.scoring import load_detector

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
ERROR_SCORE, IOU = 0.35, 0.5
FRACTIONS = (0.1, 0.2, 0.3)
Truth = list[tuple[str, list[float]]]


def iou_matrix(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return np.asarray(inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9), dtype=np.float64)


def errors(p: Predictions, truth: Truth) -> tuple[int, int]:
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


def load_truth(coco: Path, splits: Sequence[str] = ("train2017", "val2017")) -> dict[str, Truth]:
    """Ground truth by image path (crowd boxes left out, as the error count ignores them)."""
    truths: dict[str, Truth] = {}
    for split in splits:
        data = json.loads((coco / "annotations" / f"instances_{split}.json").read_text())
        names = {c["id"]: c["name"] for c in data["categories"]}
        by_image: dict[int, Truth] = {img["id"]: [] for img in data["images"]}
        for ann in data["annotations"]:
            if ann.get("iscrowd"):
                continue
            x, y, w, h = ann["bbox"]
            by_image[ann["image_id"]].append((names[ann["category_id"]], [x, y, x + w, y + h]))
        for img in data["images"]:
            truths[str(coco / split / img["file_name"])] = by_image[img["id"]]
    return truths


class Scorecard:
    """Errors and truth boxes of every pool item, and the figures of a pick."""

    def __init__(self, scanned: ScannedPool, truths: dict[str, Truth]) -> None:
        assert scanned.pool.predictions is not None
        pairs = zip(scanned.pool.predictions, scanned.items, strict=True)
        self.found = np.array([sum(errors(p, truths[item.name])) for p, item in pairs])
        self.gt = np.array([len(truths[item.name]) for item in scanned.items])

    def row(self, picked: NDArray[np.intp]) -> tuple[float, float, float]:
        """(errors per image, errors per truth box, truth boxes) of a pick."""
        errs, boxes = float(self.found[picked].sum()), int(self.gt[picked].sum())
        return errs / max(len(picked), 1), errs / max(boxes, 1), float(boxes)


def run_pool(
    name: str, scanned: ScannedPool, card: Scorecard, draws: int, seeds: int
) -> dict[str, dict[str, list[float]]]:
    n = len(scanned.items)
    print(f"\n{name}: {n} images, {int(card.gt.sum())} truth boxes, {int(card.found.sum())} errors")
    header = "".join(f"  {f:>4.0%} img/box" for f in FRACTIONS)
    print(f"{'strategy':<18}{header}   (x random's errors per image / per truth box)")
    results: dict[str, dict[str, list[float]]] = {}
    rng = np.random.default_rng(0)
    base = {}
    for f in FRACTIONS:
        k = round(n * f)
        base[f] = np.array([card.row(rng.permutation(n)[:k].astype(np.intp)) for _ in range(draws)]).mean(0)
    print(f"{'random (absolute)':<18}" + "".join(f"  {base[f][0]:5.2f} {base[f][1]:5.3f}" for f in FRACTIONS))
    for strategy in STRATEGIES:
        if strategy == "random":
            continue
        cells, ratios = "", []
        for f in FRACTIONS:
            k = round(n * f)
            rows = [card.row(pick(scanned, strategy, budget=k, seed=s).indices) for s in range(seeds)]
            mean = np.mean(rows, axis=0)
            ratio = (float(mean[0] / base[f][0]), float(mean[1] / base[f][1]))
            ratios.append(list(ratio))
            cells += f"  {ratio[0]:5.2f}x {ratio[1]:4.2f}x"
        mark = "  <- default" if strategy == DEFAULT_WITH_MODEL else ""
        print(f"{strategy:<18}{cells}{mark}")
        results[strategy] = {f"{f:.0%}": r for f, r in zip(FRACTIONS, ratios, strict=True)}
    results["box_budget"] = box_budget(scanned, card, draws, seeds)
    return results


def box_budget(scanned: ScannedPool, card: Scorecard, draws: int, seeds: int) -> dict[str, list[float]]:
    """``budget_boxes`` = 20% of the pool's expected boxes, the default strategy (and the other box
    measures) against random picks to the same box budget."""
    budget = max(1, round(0.2 * int(expected_boxes(scanned.pool).sum())))
    theirs = [select_boxes(scanned.pool, budget, "random", seed=s) for s in range(draws)]
    rand = np.mean([(*card.row(p), len(p), card.found[p].sum()) for p in theirs], axis=0)
    print(
        f"box budget {budget} expected boxes; random: {rand[3]:.1f} images, {rand[2]:.0f} truth boxes, "
        f"{rand[4]:.1f} errors ({rand[1]:.3f}/truth box)"
    )
    results = {"random": [float(v) for v in rand]}
    for strategy in (DEFAULT_WITH_MODEL, "errors_mean", "errors_sum"):
        ours = [pick(scanned, strategy, budget_boxes=budget, seed=s).indices for s in range(seeds)]
        mine = np.mean([(*card.row(p), len(p), card.found[p].sum()) for p in ours], axis=0)
        print(
            f"  {strategy:<18} {mine[3]:5.1f} images, {mine[2]:4.0f} truth boxes, {mine[4]:4.0f} errors "
            f"({mine[1]:.3f}/truth box): {mine[4] / rand[4]:.2f}x the errors, "
            f"{mine[1] / rand[1]:.2f}x per truth box"
        )
        results[strategy] = [float(v) for v in mine]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="Also write the ratios here.")
    parser.add_argument("--views", default=",".join(DEFAULT_VIEWS), help="As `framescout select --views`.")
    args = parser.parse_args()
    model, coco = SHARED / "models" / "nanodet-m" / "nanodet_m.onnx", SHARED / "data" / "coco-tiny"
    if not model.exists() or not coco.exists():
        print(f"skipped: needs {model} and {coco} (the ../shared data folder)")
        return
    detector = load_detector(model, classes=model.parent / "coco.names")
    truths = load_truth(coco)
    print(f"NanoDet-m, errors = false positives + misses at IoU {IOU}, detections scoring >= {ERROR_SCORE}")
    print(f"random = mean of {args.draws} draws; other strategies: mean of {args.seeds} seeds")
    print(f"views: {args.views or 'none'}")
    everything: dict[str, object] = {}
    for name, splits in (("coco-tiny", ("train2017", "val2017")), ("train half", ("train2017",)),
                         ("val half", ("val2017",))):  # fmt: skip
        paths = sorted(p for p in truths if Path(p).parent.name in splits)
        items = [PoolItem(p, Path(p).read_bytes) for p in paths]
        views = tuple(v for v in args.views.split(",") if v)
        scanned = scan_pool(items, "margin_kcenter", detector=detector, views=views)  # embeddings: for all
        everything[name] = run_pool(name, scanned, Scorecard(scanned, truths), args.draws, args.seeds)
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2))


if __name__ == "__main__":
    main()
