"""Benchmark: per-frame cost of the novelty-by-features rules on the inference thread, at 1920x1080.

`Sampler.decide(..., image=frame)` is timed on real frames of ``../shared/data/videos/people.mp4``
(1920x1080) for: the default stack (no pixels looked at: the baseline of `sampling_decision.py`),
``outlier``, ``scene_change``, both (they share one description of the frame), ``scene_change`` with
``every: 5``, and, with ``--onnx-layer``, ``scene_change`` over NanoDet-m's deepest backbone layer as an
ONNX encoder (needs the ``onnx`` package to expose it). The cost of describing a frame is also split
into the shrink (nearest neighbour to 128x128) and the colour/texture descriptor, against describing the
full-size frame (what `ColorTexture` alone does: an area filter over 2 million pixels).

``cpu`` is this thread's CPU time per decision: on a loaded machine the wall-clock p99 mostly
measures waiting for a core, the CPU time what the decision itself costs.

    python benchmarks/sampling_novelty.py [--frames 2000] [--onnx-layer]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from framescout import Predictions
from framescout.sampling import ManualClock, default_sampler, parse_config
from framescout.sampling.engine import Sampler
from framescout.selection import ColorTexture

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT.parent / "shared" / "data" / "videos" / "people.mp4"
NANODET = ROOT.parent / "shared" / "models" / "nanodet-m" / "nanodet_m.onnx"
FPS = 25.0


def read_frames(count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VIDEO))
    frames: list[np.ndarray] = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames:
        raise SystemExit(f"cannot read {VIDEO} (the ../shared data folder beside the project)")
    return frames


def percentiles(samples_ns: list[int]) -> str:
    us = np.asarray(samples_ns, dtype=np.float64) / 1000.0
    p50, p99 = np.percentile(us, 50), np.percentile(us, 99)
    return f"p50 {p50:8.0f} µs   p99 {p99:8.0f} µs   mean {us.mean():8.0f} µs"


def time_sampler(sampler: Sampler, frames: list[np.ndarray], repeats: int) -> str:
    empty = Predictions.empty()
    for i in range(20):  # warm-up (the models warm up too)
        sampler.decide(empty, image=frames[i % len(frames)], timestamp=i / FPS)
    samples = []
    perf = time.perf_counter_ns
    cpu = time.thread_time_ns()
    for i in range(repeats):
        image = frames[i % len(frames)]
        start = perf()
        sampler.decide(empty, image=image, timestamp=(20 + i) / FPS)
        samples.append(perf() - start)
    cpu_us = (time.thread_time_ns() - cpu) / repeats / 1000
    return f"{percentiles(samples)}   cpu {cpu_us:6.0f} µs"


def time_call(fn: Callable[[], Any], repeats: int) -> str:
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return percentiles(samples)


def onnx_encoder(folder: Path) -> dict[str, Any]:
    """NanoDet-m with its deepest backbone feature map exposed as an output (the tests' encoder)."""
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)  # the edited graph's initializer warnings
    sys.path.insert(0, str(ROOT / "tests"))
    from onnx_graphs import nanodet_feature_encoder  # needs the onnx package (the dev extra)

    return nanodet_feature_encoder(NANODET, folder)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=2000, help="decisions timed per configuration")
    parser.add_argument("--onnx-layer", action="store_true", help="also time a NanoDet-m layer as encoder")
    args = parser.parse_args()
    frames = read_frames(120)
    print(f"{len(frames)} frames of {VIDEO.name}, {frames[0].shape[1]}x{frames[0].shape[0]}")
    stacks: dict[str, list[dict[str, Any]]] = {
        "outlier": [{"type": "outlier"}],
        "scene_change": [{"type": "scene_change"}],
        "outlier + scene_change": [{"type": "outlier"}, {"type": "scene_change"}],
        "scene_change, every: 5": [{"type": "scene_change", "every": 5}],
    }
    with tempfile.TemporaryDirectory() as tmp:
        if args.onnx_layer:
            stacks["scene_change, NanoDet-m layer, every: 5"] = [
                {"type": "scene_change", "every": 5, "embedder": onnx_encoder(Path(tmp))}
            ]
        baseline = time_sampler(default_sampler(clock=ManualClock(0)), frames, args.frames)
        print(f"{'default stack (no pixels)':<42} {baseline}")
        for label, rules in stacks.items():
            sampler = parse_config({"rules": rules}).build(ManualClock(0.0))
            print(f"{label:<42} {time_sampler(sampler, frames, args.frames)}")
    descriptor = ColorTexture()
    frame = frames[0]
    fresh = itertools.cycle(frames)  # a new frame each time, as from a camera (not one left in cache)
    small = cv2.resize(frame, (128, 128), interpolation=cv2.INTER_NEAREST)
    repeats = max(50, args.frames // 10)
    print("describing one frame:")
    parts: dict[str, Callable[[], Any]] = {
        "sample 1920x1080 down to 128x128 (nearest)": lambda: cv2.resize(
            next(fresh), (128, 128), interpolation=cv2.INTER_NEAREST
        ),
        "colour/texture of the 128x128 frame": lambda: descriptor.embed_one(small),
        "colour/texture of the full frame": lambda: descriptor.embed_one(next(fresh)),
    }
    for label, fn in parts.items():
        print(f"  {label:<40} {time_call(fn, repeats)}")


if __name__ == "__main__":
    main()
