"""Benchmark: scoring throughput of a pool with a detector, one view against several.

Target (issue 16): a pool scored with 3 views (flip, rescale, noise: 4 inferences per image) at
close to the model's own throughput divided by 4, against the plain one-view runner (decode and
``OnnxDetector.predict`` one image after the other, what ``framescout select --model`` did before).

The pool is a folder of ``--images`` distinct JPEGs made from coco-tiny (train2017 + val2017, 160
photos): copy ``k`` of a photo is cropped by ``k`` pixels and re-encoded, so no two files are equal.
Every runner scores the same files; the model-only figure is ONNX Runtime alone on one pre-processed
input (no decode, no post-processing), the ceiling of any runner. The machine's load average is
printed: on a shared machine the figures move with it, compare rows of one run.

    python benchmarks/selection_scoring.py [--images 1000] [--sweep 200] [--out result.json]
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


def timed(run: Callable[[], object], count: int) -> float:
    """Items per second of ``run`` (which handles ``count`` items)."""
    start = time.perf_counter()
    run()
    return count / (time.perf_counter() - start)


def model_only(threads: int | None, runs: int = 100) -> float:
    """Inferences per second of the bare session on one letterboxed input."""
    detector = OnnxDetector(MODEL, class_names=load_class_names(MODEL.parent / "coco.names"), threads=threads)
    image = to_bgr(decode_image(sorted(COCO.glob("val2017/*.jpg"))[0].read_bytes()))
    blob, _ = detector.layout.preprocess(image, detector.input_size)
    detector._run(blob)
    return timed(lambda: [detector._run(blob) for _ in range(runs)], runs)


def plain(paths: list[Path], threads: int | None) -> float:
    """The one-view runner: read, decode, predict, one image after the other."""
    detector = OnnxDetector(MODEL, class_names=load_class_names(MODEL.parent / "coco.names"), threads=threads)

    def run() -> None:
        for path in paths:
            detector.predict(to_bgr(decode_image(path.read_bytes())), confidence=0.05)

    return timed(run, len(paths))


def scorer(paths: list[Path], views: tuple[str, ...], workers: int, threads: int | None) -> float:
    """`Scorer.score_many` in batches of 32, as ``framescout select`` scans."""
    detector = OnnxDetector(MODEL, class_names=load_class_names(MODEL.parent / "coco.names"), threads=threads)
    scoring = Scorer(detector=detector, views=views, workers=workers)

    def run() -> None:
        for start in range(0, len(paths), 32):
            scoring.score_many([p.read_bytes() for p in paths[start : start + 32]])

    try:
        return timed(run, len(paths))
    finally:
        scoring.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000, help="pool size for the headline rows")
    parser.add_argument("--sweep", type=int, default=200, help="pool size for the thread sweep (0: skip)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    if not (MODEL.is_file() and COCO.is_dir()):
        raise SystemExit(f"needs {MODEL} and {COCO} (the ../shared data folder)")
    cores = os.cpu_count() or 1
    rows: list[dict[str, Any]] = []

    def report(name: str, images_per_s: float, inferences: int, size: int) -> None:
        load = os.getloadavg()[0]
        rows.append({"runner": name, "images": size, "images_per_s": images_per_s, "load": load})
        per_inf = images_per_s * inferences
        print(f"  {name:58s} {images_per_s:7.2f} images/s  {per_inf:6.1f} inferences/s  (load {load:.1f})")

    print(f"{cores} cores; NanoDet-m 416x416, batch 1")
    for threads in (None, SESSION_THREADS):
        report(f"model only, session threads={threads or 'default'}", model_only(threads), 1, 100)
    with tempfile.TemporaryDirectory(prefix="framescout-scoring-") as tmp:
        paths = make_pool(max(args.images, args.sweep), Path(tmp))
        if args.sweep:
            sweep = paths[: args.sweep]
            print(f"thread sweep, {len(sweep)} images:")
            for threads in (None, SESSION_THREADS):
                for views in ((), VIEWS):
                    for workers in (1, cores, cores + 1):
                        session = threads or "default"
                        name = f"Scorer views={len(views)} workers={workers} session threads={session}"
                        report(name, scorer(sweep, views, workers, threads), 1 + len(views), len(sweep))
        print(f"headline, {args.images} images:")
        headline = paths[: args.images]
        report("plain one-view runner (default session)", plain(headline, None), 1, len(headline))
        report(
            f"Scorer views=0 workers={cores}", scorer(headline, (), cores, SESSION_THREADS), 1, len(headline)
        )
        name = f"Scorer views={len(VIEWS)} ({','.join(VIEWS)}) workers={cores}"
        report(name, scorer(headline, VIEWS, cores, SESSION_THREADS), 1 + len(VIEWS), len(headline))
    if args.out:
        write_file_atomically(args.out, json.dumps({"cores": cores, "rows": rows}, indent=2).encode())


if __name__ == "__main__":
    main()
