"""Benchmark: scoring throughput of a pool with a detector, one view against several.

Target (issue 16): a pool scored with 3 views (flip, rescale, noise: 4 inferences per image) at
close to the model's own throughput divided by 4, against the plain one-view runner (decode and
``OnnxDetector.predict`` one image after the other, what ``framescout select --model`` did before).

The pool is a folder of ``--images`` distinct JPEGs made from coco-tiny (train2017 + val2017, 160
photos): copy ``k`` of a photo is cropped by ``k`` pixels and re-encoded, so no two files are equal.
Every runner scores the same files, ``--chunk`` images at a time in turns, so that on a shared
machine the other processes' load falls on all runners alike; CPU milliseconds per image (all
threads of this process) do not depend on that load. The model-only row is ONNX Runtime alone on one
pre-processed input (no decode, no post-processing), the ceiling of any runner.

    python benchmarks/selection_scoring.py [--images 1000] [--sweep 100] [--chunk 20] [--out result.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnxruntime  # noqa: F401  (first: loading it after usearch crashes on some builds)

from framescout.atomic import write_file_atomically
from framescout.imaging import decode_image, encode_jpeg, to_bgr
from framescout.models import OnnxDetector, load_class_names
from framescout.selection.scoring import SESSION_THREADS, Scorer

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MODEL = SHARED / "models" / "nanodet-m" / "nanodet_m.onnx"
COCO = SHARED / "data" / "coco-tiny"
VIEWS = ("flip", "rescale", "noise")


def make_pool(n: int, folder: Path) -> list[Path]:
    """``n`` distinct JPEGs from coco-tiny's photos (copy k: cropped by k pixels, re-encoded)."""
    sources = sorted(COCO.glob("*2017/*.jpg"))
    images = [to_bgr(decode_image(p.read_bytes())) for p in sources]
    paths = []
    for i in range(n):
        k, image = divmod(i, len(images))[0], images[i % len(images)]
        path = folder / f"{i:05d}.jpg"
        path.write_bytes(encode_jpeg(image[k : image.shape[0] - k, k : image.shape[1] - k], quality=90))
        paths.append(path)
    return paths


class Runner:
    """One way of scoring images: ``run(paths)`` handles them; ``inferences`` per image."""

    def __init__(self, name: str, run: Callable[[list[Path]], object], inferences: int) -> None:
        self.name, self.run, self.inferences = name, run, inferences
        self.images = 0
        self.wall = self.cpu = 0.0

    def timed(self, paths: list[Path]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.run(paths)
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        self.images += len(paths)


def _detector(threads: int | None) -> OnnxDetector:
    return OnnxDetector(MODEL, class_names=load_class_names(MODEL.parent / "coco.names"), threads=threads)


def model_only(threads: int | None) -> Runner:
    """The bare session on one letterboxed input, once per image: the ceiling of any runner."""
    detector = _detector(threads)
    image = to_bgr(decode_image(sorted(COCO.glob("val2017/*.jpg"))[0].read_bytes()))
    blob, _ = detector.layout.preprocess(image, detector.input_size)
    detector._run(blob)
    name = f"model only (ONNX Runtime, threads={threads or 'default'})"
    return Runner(name, lambda paths: [detector._run(blob) for _ in paths], 1)


def plain() -> Runner:
    """The one-view runner: read, decode, predict, one image after the other (default session)."""
    detector = _detector(None)

    def run(paths: list[Path]) -> None:
        for path in paths:
            detector.predict(to_bgr(decode_image(path.read_bytes())), confidence=0.05)

    return Runner("plain one-view runner (read, decode, predict)", run, 1)


def scorer(views: tuple[str, ...], workers: int, threads: int | None) -> Runner:
    """`Scorer.score_many` in batches of 32, as ``framescout select`` scans."""
    scoring = Scorer(detector=_detector(threads), views=views, workers=workers)

    def run(paths: list[Path]) -> None:
        for start in range(0, len(paths), 32):
            scoring.score_many([p.read_bytes() for p in paths[start : start + 32]])

    shown = ",".join(views) or "none"
    name = f"Scorer views={shown} workers={workers} threads={threads or 'default'}"
    return Runner(name, run, 1 + len(views))


def interleaved(runners: list[Runner], paths: list[Path], chunk: int) -> None:
    """Every runner scores every image, ``chunk`` images at a time, taking turns (rotated each round)
    so that the load of a shared machine falls on all of them alike; then prints the totals."""
    for r, start in enumerate(range(0, len(paths), chunk)):
        part = paths[start : start + chunk]
        for k in range(len(runners)):
            runners[(r + k) % len(runners)].timed(part)
    for runner in runners:
        rate = runner.images / runner.wall
        print(
            f"  {runner.name:54s} {rate:7.2f} images/s {rate * runner.inferences:6.1f} inferences/s "
            f"{1000 * runner.cpu / runner.images:7.1f} CPU ms/image"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000, help="pool size for the headline rows")
    parser.add_argument("--sweep", type=int, default=100, help="pool size for the thread sweep (0: skip)")
    parser.add_argument("--chunk", type=int, default=20, help="images per turn")
    parser.add_argument("--out", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    if not (MODEL.is_file() and COCO.is_dir()):
        raise SystemExit(f"needs {MODEL} and {COCO} (the ../shared data folder)")
    cores = os.cpu_count() or 1
    results: dict[str, Any] = {"cores": cores, "load_before": os.getloadavg()[0]}
    print(f"{cores} cores, load average {os.getloadavg()[0]:.1f}; NanoDet-m 416x416, batch 1")
    with tempfile.TemporaryDirectory(prefix="framescout-scoring-") as tmp:
        paths = make_pool(max(args.images, args.sweep), Path(tmp))
        if args.sweep:
            print(f"thread sweep, {args.sweep} images, 3 views:")
            sweep = [
                scorer(VIEWS, w, t) for t, w in ((None, 1), (None, cores), (1, 1), (1, cores), (1, cores + 1))
            ]
            interleaved(sweep, paths[: args.sweep], args.chunk)
            results["sweep"] = [vars(r) | {"run": None} for r in sweep]
        print(f"headline, {args.images} images:")
        headline = [
            model_only(SESSION_THREADS),
            plain(),
            scorer((), cores, SESSION_THREADS),
            scorer(VIEWS, cores, SESSION_THREADS),
        ]
        interleaved(headline, paths[: args.images], args.chunk)
        results["headline"] = [vars(r) | {"run": None} for r in headline]
    results["load_after"] = os.getloadavg()[0]
    print(f"load average after: {results['load_after']:.1f}")
    if args.out:
        write_file_atomically(args.out, json.dumps(results, indent=2).encode())


if __name__ == "__main__":
    main()
