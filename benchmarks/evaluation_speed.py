"""Benchmark: `framescout.evaluation.evaluate` on 1k, 10k and 100k images, and pycocotools' COCOeval
(the reference, bbox) on the same boxes in the same run for 1k and 10k.

Issue 15 asks that evaluation be "incrementally maintained or fast enough to compute on demand for
100k reviewed frames": this measures on demand. Synthetic boxes shaped like COCO: 20 classes, a
Poisson(7) number of truth boxes per image (about 1% crowd), about 20 predictions per image (most
truth boxes found with jittered corners, some under another class, the rest strays), scores in
(0, 1) with ties. Our time is the whole call from `EvalImage` lists of `Box` (flattening included);
pycocotools' is COCO index + loadRes + evaluate + accumulate + summarize, from its dicts (its CPU
time also counts building those dicts). Wall and CPU seconds are both printed: on a shared machine
the CPU time is the steadier figure. The AP of both is printed, so the run also shows they agree.

    python benchmarks/evaluation_speed.py [--sizes 1000 10000 100000] [--peer-max 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from framescout.evaluation import EvalImage, evaluate
from framescout.predictions import Box

CLASSES = tuple(f"class{n:02d}" for n in range(20))


def synthetic(count: int, seed: int) -> list[EvalImage]:
    """``count`` images of COCO-like truth and predictions (see the module docstring)."""
    rng = np.random.default_rng(seed)
    images = []
    for n in range(count):
        g = rng.poisson(7)
        size = rng.uniform(10, 200, (g, 2))
        corner = rng.uniform(0, 600, (g, 2))
        truth_xyxy = np.hstack([corner, corner + size])
        truth_class = rng.integers(0, len(CLASSES), g)
        crowd = rng.random(g) < 0.01
        found = rng.random(g) < 0.85
        jitter = rng.normal(0, 0.08, (g, 4)) * np.hstack([size, size])
        hit_xyxy = (truth_xyxy + jitter)[found]
        hit_class = np.where(rng.random(g) < 0.1, rng.integers(0, len(CLASSES), g), truth_class)[found]
        strays = max(0, 20 - len(hit_xyxy))
        stray_corner = rng.uniform(0, 600, (strays, 2))
        stray_xyxy = np.hstack([stray_corner, stray_corner + rng.uniform(10, 150, (strays, 2))])
        xyxy = np.vstack([hit_xyxy, stray_xyxy])
        classes = np.concatenate([hit_class, rng.integers(0, len(CLASSES), strays)])
        scores = np.concatenate([rng.beta(5, 2, len(hit_xyxy)), rng.beta(2, 5, strays)]).round(3)
        images.append(
            EvalImage(
                f"frame-{n}",
                [
                    Box(CLASSES[c], b[0], b[1], b[2], b[3], None, bool(w))
                    for c, b, w in zip(truth_class.tolist(), truth_xyxy.tolist(), crowd.tolist(), strict=True)
                ],
                [
                    Box(CLASSES[c], b[0], b[1], b[2], b[3], s)
                    for c, b, s in zip(classes.tolist(), xyxy.tolist(), scores.tolist(), strict=True)
                ],
            )
        )
    return images


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--peer-max", type=int, default=10000, help="largest size pycocotools is run on")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    reference: Callable[[list[EvalImage]], Reference] | None = None
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from evaluation.coco_reference import Reference, reference  # the tests' pycocotools reference
    except Exception:  # pytest.importorskip's Skipped when pycocotools is missing
        print("pycocotools (the dev extra) is not installed: the peer is left out")
    header = ("images", "truth", "preds", "ours s", "ours cpu", "AP", "AP50", "peer s", "peer cpu", "peer AP")
    print(" ".join(f"{h:>9}" for h in header))
    for size in args.sizes:
        images = synthetic(size, args.seed)
        truth = sum(len(i.truth) for i in images)
        predictions = sum(len(i.predictions) for i in images)
        start, cpu = time.perf_counter(), time.process_time()
        result = evaluate(images)
        ours, ours_cpu = time.perf_counter() - start, time.process_time() - cpu
        peer = ["—"] * 3
        if reference is not None and size <= args.peer_max:
            cpu = time.process_time()
            expected = reference(images)
            peer = [f"{expected.seconds:.2f}", f"{time.process_time() - cpu:.2f}", f"{expected.ap:.4f}"]
            assert result.ap is not None and abs(result.ap - expected.ap) <= 1e-3, (result.ap, expected.ap)
        row = [size, truth, predictions, f"{ours:.2f}", f"{ours_cpu:.2f}", f"{result.ap or 0:.4f}"]
        print(" ".join(f"{v:>9}" for v in [*row, f"{result.ap50 or 0:.4f}", *peer]), flush=True)
        del images, result


if __name__ == "__main__":
    main()
