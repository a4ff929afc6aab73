"""Benchmark: time of one sampling decision with the default rule stack, at 0, 10 and 100 detections.

Target (PRODUCT.md): p99 <= 50 us per frame at 100 detections on the 2-core dev machine.

Peer: Roboflow's `inference` package ships active-learning samplers (close-to-threshold, number of
detections, random). When it is importable — here, or from another interpreter given with
``--peer-python`` (it pins many dependencies, so a separate virtual environment is the usual home) —
the same frames are timed through an equivalent stack of its samplers in the same run, and the
ratio is printed. The peer stack does no rate-limit accounting; ours does.

    python benchmarks/sampling_decision.py [--frames 20000] [--peer-python /path/to/venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

import numpy as np

from framescout import Predictions
from framescout.sampling import ManualClock, default_sampler

SIZES = (0, 10, 100)
FPS = 30.0


def make_frames(n_boxes: int, count: int, seed: int) -> list[dict[str, Any]]:
    """Roboflow-style frames with realistic boxes: confidences 0.25-1.0, 20 classes, 1280x720."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(count):
        boxes = []
        for _ in range(n_boxes):
            w, h = rng.uniform(8, 300, 2)
            boxes.append(
                {
                    "x": float(rng.uniform(0, 1280)),
                    "y": float(rng.uniform(0, 720)),
                    "width": float(w),
                    "height": float(h),
                    "confidence": float(rng.uniform(0.25, 1.0)),
                    "class": f"class{int(rng.integers(0, 20))}",
                    "class_id": int(rng.integers(0, 20)),
                }
            )
        frames.append({"predictions": boxes, "image": {"width": 1280, "height": 720}})
    return frames


def percentiles(samples_ns: list[int]) -> dict[str, float]:
    us = np.asarray(samples_ns, dtype=np.float64) / 1000.0
    return {
        "p50": float(np.percentile(us, 50)),
        "p99": float(np.percentile(us, 99)),
        "mean": float(us.mean()),
    }


def time_framescout(frames: list[dict[str, Any]], repeats: int) -> dict[str, float]:
    predictions = [Predictions.from_roboflow(f) for f in frames]
    clock = ManualClock(1_700_000_000.0)
    sampler = default_sampler(seed=0, clock=clock)
    for p in predictions[:200]:  # warm-up
        sampler.decide(p)
    samples = []
    kept = 0
    perf = time.perf_counter_ns
    for i in range(repeats):
        p = predictions[i % len(predictions)]
        clock.advance(1.0 / FPS)
        start = perf()
        decision = sampler.decide(p)
        samples.append(perf() - start)
        kept += decision.keep
    return {**percentiles(samples), "kept": kept}


PEER_SCRIPT = r"""
import json, sys, time
import numpy as np
from inference.core.active_learning.samplers.close_to_threshold import sample_close_to_threshold
from inference.core.active_learning.samplers.number_of_detections import sample_based_on_detections_number
from inference.core.active_learning.samplers.random import sample_randomly

frames, repeats = json.load(sys.stdin)
image = np.zeros((1, 1, 3), dtype=np.uint8)
kind = "object-detection"
# The same three intentions as framescout's default stack: boxes below 0.40 (close to 0.20 +- 0.20),
# nothing detected (fewer than 1 detection), a random baseline (~3 per 15 minutes at 30 fps).
stack = [
    lambda p: sample_close_to_threshold(image, p, kind, None, 0.2, 0.2, True, 1, 1.0),
    lambda p: sample_based_on_detections_number(image, p, kind, None, 1, None, 1.0),
    lambda p: sample_randomly(image, p, kind, 3 / (15 * 60 * 30)),
]
def decide(p):
    for strategy in stack:
        if strategy(p):
            return True
    return False
for p in frames[:200]:
    decide(p)
samples = []
perf = time.perf_counter_ns
for i in range(repeats):
    p = frames[i % len(frames)]
    start = perf()
    decide(p)
    samples.append(perf() - start)
us = np.asarray(samples, dtype=np.float64) / 1000.0
figures = {"p50": np.percentile(us, 50), "p99": np.percentile(us, 99), "mean": us.mean()}
print(json.dumps({k: float(v) for k, v in figures.items()}))
"""


def time_peer(python: str, frames: list[dict[str, Any]], repeats: int) -> dict[str, float] | str:
    """Run the peer's samplers in ``python``; return figures, or why it could not run."""
    try:
        result = subprocess.run(
            [python, "-c", PEER_SCRIPT],
            input=json.dumps([frames, repeats]),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"could not run {python}: {exc}"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"inference samplers unavailable in {python}: {last}"
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=20_000, help="decisions timed per size")
    parser.add_argument("--peer-python", default=sys.executable, help="interpreter that has `inference`")
    args = parser.parse_args()

    print(
        f"sampling decision, default rule stack, {args.frames} frames per size at {FPS:g} fps (times in us)"
    )
    header = ("detections", "p50", "p99", "kept", "peer p50", "peer p99")
    print("{:>10}  {:>7}  {:>7}  {:>6}  {:>8}  {:>8}  ratio p99".format(*header))
    notes = set()
    for n in SIZES:
        frames = make_frames(n, count=500, seed=n)
        ours = time_framescout(frames, args.frames)
        peer = time_peer(args.peer_python, frames, args.frames)
        if isinstance(peer, str):
            notes.add(peer)
            peer_cols = f"{'-':>8}  {'-':>8}  -"
        else:
            peer_cols = f"{peer['p50']:8.2f}  {peer['p99']:8.2f}  {peer['p99'] / ours['p99']:.1f}x"
        print(f"{n:>10}  {ours['p50']:7.2f}  {ours['p99']:7.2f}  {int(ours['kept']):>6}  {peer_cols}")
    target = "p99 <= 50 us at 100 detections"
    print(f"target: {target}")
    for note in sorted(notes):
        print(f"peer: {note}")


if __name__ == "__main__":
    main()
