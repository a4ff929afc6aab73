"""Benchmark: scoring throughput of ``framescout select --ray`` with 1 and 2 Ray workers on this
machine, against the local scan (the same `Scorer`, in this process).

Target (issue 16): "scoring throughput for a 1,000-image folder with 3 views ... with Ray on 1 and 2
workers on this machine". Every run scores the same folder of distinct JPEGs (`selection_scoring.
make_pool`: coco-tiny's photos cropped and re-encoded) with NanoDet-m, the colour/texture embedding
and ``--views``; a Ray worker is one actor (one CPU of the cluster) running ``ScoringConfig.build()
.score_many`` on batches of 16 images it reads itself, as ``framescout select --ray`` does
(`framescout.selection.ray_scoring.score_on_ray`). Ray runs locally here (``ray.init`` on loopback,
``--cpus`` CPUs), started once before the runs; each run's wall time includes its actors' start
(import, model load), and "steady" is the rate from the first batch back to the last. The local run
is repeated at the end: on a shared machine the two local figures bracket how the load moved.

    python benchmarks/selection_ray.py [--images 1000] [--views flip,rescale,noise] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray on loopback, as on a laptop
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from selection_scoring import MODEL, make_pool

from framescout.atomic import write_file_atomically
from framescout.selection import ray_scoring
from framescout.selection.folder import SCORE_BATCH
from framescout.selection.scoring import ScoringConfig


def local(paths: list[Path], config: ScoringConfig) -> dict[str, Any]:
    """The local scan's scoring: `SCORE_BATCH` files read, then `score_many`, as `folder.scan` does."""
    start = time.perf_counter()
    scorer = config.build()
    built = time.perf_counter()
    for first in range(0, len(paths), SCORE_BATCH):
        scorer.score_many([p.read_bytes() for p in paths[first : first + SCORE_BATCH]])
    end = time.perf_counter()
    scorer.close()
    return {"run": "local Scorer (this process)", "wall_s": end - start, "steady": len(paths) / (end - built)}


def on_ray(paths: list[Path], config: ScoringConfig, workers: int) -> dict[str, Any]:
    """`score_on_ray` with ``workers`` actors; steady rate from the first batch back to the last."""
    marks: list[tuple[float, int]] = []
    start = time.perf_counter()
    ray_scoring.score_on_ray(
        [str(p) for p in paths],
        config,
        workers=workers,
        progress=lambda done: marks.append((time.perf_counter(), done)),
    )
    end = time.perf_counter()
    (t0, d0), (t1, d1) = marks[0], marks[-1]
    return {
        "run": f"Ray, {workers} worker(s)",
        "wall_s": end - start,
        "steady": (d1 - d0) / (t1 - t0) if t1 > t0 else float("nan"),
        "first_batch_s": t0 - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--views", default="flip,rescale,noise", help="comma-separated; '' for none")
    parser.add_argument("--workers", default="1,2", help="Ray worker counts to run, comma-separated")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1, help="CPUs of the local Ray")
    parser.add_argument("--out", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    views = tuple(v for v in args.views.split(",") if v)
    config = ScoringConfig(
        model=str(MODEL), classes=str(MODEL.parent / "coco.names"), want_embeddings=True, views=views
    )
    ray = ray_scoring.import_ray()
    with tempfile.TemporaryDirectory(prefix="framescout-ray-bench-") as folder:
        paths = make_pool(args.images, Path(folder))
        print(f"{len(paths)} images, views={','.join(views) or 'none'} ({1 + len(views)} inferences/image)")
        rows = [local(paths, config)]
        ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
        try:
            with ray_scoring.ray_cluster("auto"):  # already connected: only the CLI's settings
                for workers in (int(w) for w in args.workers.split(",")):
                    rows.append(on_ray(paths, config, workers))
        finally:
            ray.shutdown()
        rows.append({**local(paths, config), "run": "local Scorer, again"})  # brackets the load's drift
    inferences = 1 + len(views)
    for row in rows:
        rate = len(paths) / row["wall_s"]
        print(
            f"  {row['run']:28s} {rate:6.2f} images/s overall ({row['wall_s']:6.1f} s), "
            f"steady {row['steady']:6.2f} images/s = {row['steady'] * inferences:6.1f} inferences/s"
        )
    if args.out:
        result = {"images": len(paths), "views": views, "cpus": args.cpus, "rows": rows}
        write_file_atomically(args.out, json.dumps(result, indent=2).encode())


if __name__ == "__main__":
    main()
