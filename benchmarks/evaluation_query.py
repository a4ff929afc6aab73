"""How long the evaluation route's database side takes: gathering the frames with ground truth and a
version's predictions (`store.evaluation_data`), the versions list, and the whole route's work
(gather + `framescout.evaluation.evaluate` + JSON) for 1k, 10k and 100k reviewed frames.

A fresh store (SQLite in a temp data directory, or ``--database-url`` for PostgreSQL) gets, per
size, that many reviewed frames (5 truth boxes each, 8 predictions of version 1 and, with
``--compare``, 8 of version 2, each with its recorded run as an upload records it) plus as many
frames waiting for review without ground truth (which the query must skip), written in bulk.
Each figure is the best of ``--reps`` runs, wall seconds and (in brackets) this process's CPU seconds.

    python benchmarks/evaluation_query.py [--sizes 1000 10000 100000] [--reps 3] [--compare]
        [--database-url URL | --start-postgres]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _infra import Infra, _start_postgres
from sqlalchemy import create_engine, insert, make_url, text

from framescout.server.evaluation_report import evaluation_report
from framescout.store import Store, models
from framescout.store.accounts import create_project, get_or_create_workspace
from framescout.store.evaluation_data import EvalFilter, common_eval_images, version_frames

CLASSES = ["person", "car", "bicycle", "dog", "truck"]
BATCH = 20_000


def _boxes(rng: random.Random, image_id: str, kind: str, n: int, version: str | None) -> list[dict[str, Any]]:
    rows = []
    for position in range(n):
        x, y = rng.uniform(0, 500), rng.uniform(0, 380)
        w, h = rng.uniform(10, 140), rng.uniform(10, 100)
        rows.append(
            {
                "image_id": image_id, "kind": kind, "position": position, "class_name": rng.choice(CLASSES),
                "x_min": x, "y_min": y, "x_max": x + w, "y_max": y + h,
                "confidence": rng.random() if kind == models.PREDICTION else None,
                "model_version": version, "created_at": models.utcnow(), "iscrowd": False,
            }
        )  # fmt: skip
    return rows


def fill(store: Store, project: models.Project, frames: int, versions: list[str], seed: int = 0) -> None:
    """``frames`` reviewed frames and as many pending ones without truth, in bulk."""
    rng = random.Random(seed)
    images: list[dict[str, Any]] = []
    boxes: list[dict[str, Any]] = []

    runs: list[dict[str, Any]] = []

    def flush(conn: Any) -> None:
        for table, rows in ((models.Image, images), (models.Annotation, boxes), (models.PredictionRun, runs)):
            if rows:
                conn.execute(insert(table), rows)
            rows.clear()

    with store.db.write_engine.begin() as conn:
        for n in range(2 * frames):
            image_id, reviewed = models.new_id(), n % 2 == 0
            images.append(
                {
                    "id": image_id, "project_id": project.id, "sha256": f"{n:064x}", "name": f"{n}.jpg",
                    "content_type": "image/jpeg", "size_bytes": 1, "width": 640, "height": 480,
                    "metadata": {}, "model_version": versions[0], "created_at": models.utcnow(),
                    "review_status": models.REVIEWED if reviewed else None, "sampling_rule": "low",
                }
            )  # fmt: skip
            if reviewed:
                boxes += _boxes(rng, image_id, models.GROUND_TRUTH, 5, None)
            for version in versions:
                boxes += _boxes(rng, image_id, models.PREDICTION, 8, version)
                runs.append({"image_id": image_id, "model_version": version, "boxes": 8, "made_by": "upload"})
            if len(boxes) >= BATCH:
                flush(conn)
        flush(conn)
    if store.db.url.startswith("postgresql"):
        with store.db.write_engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def best(reps: int, work: Callable[[], Any]) -> tuple[str, Any]:
    """The fastest of ``reps`` runs as ``wall s (CPU s)`` of this process, and the last result: on a
    shared machine the CPU seconds say what the work costs, the wall seconds what a caller waits."""
    times, result = [], None
    for _ in range(reps):
        start, cpu = time.perf_counter(), time.process_time()
        result = work()
        times.append((time.perf_counter() - start, time.process_time() - cpu))
    wall, cpu = min(times)
    return f"{wall:.2f} ({cpu:.2f})", result


def measure(size: int, versions: list[str], reps: int, database_url: str | None) -> str:
    """One size: a fresh store filled, then each figure; the table's row."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "data", database_url=database_url)
        try:
            with store.db.writing() as session:
                project = create_project(session, get_or_create_workspace(session, f"bench{size}"), "eval")
            fill(store, project, size, versions)

            def gather() -> dict[str, Any]:
                with store.db.reading() as session:
                    return common_eval_images(session, project, versions)

            def listing() -> Any:
                with store.db.reading() as session:
                    return version_frames(session, project)

            gathered, frames = best(reps, gather)
            listed, _ = best(reps, listing)
            rows = sum(len(i.truth) + len(i.predictions) for v in versions for i in frames[v])
            assert len(frames[versions[0]]) == size, len(frames[versions[0]])
            route, _ = best(1, lambda: evaluation_report(store.db, project, versions, EvalFilter()))
            return f"{size:>16,} {rows:>10,} {gathered:>16} {listed:>16} {route:>16}"
        finally:
            if database_url:
                with store.db.write_engine.begin() as conn:
                    conn.execute(text("DELETE FROM workspaces WHERE slug = :s"), {"s": f"bench{size}"})
            store.close()


def _own_database(url: str) -> str:
    """A database of the benchmark's role (PostgreSQL 15 lets no other role create in ``public``)."""
    base = make_url(url)
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text('CREATE DATABASE "evaluation_bench"'))  # the role has CREATEDB
    engine.dispose()
    return base.set(database="evaluation_bench").render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--compare", action="store_true", help="Predictions of two versions; gather both.")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite).")
    parser.add_argument("--start-postgres", action="store_true", help="A throw-away PostgreSQL for the run.")
    args = parser.parse_args()
    versions = ["1", "2"] if args.compare else ["1"]
    infra = None
    if args.start_postgres:
        infra = Infra(Path(tempfile.mkdtemp(prefix="framescout-bench-")))
        infra.root.chmod(0o755)
        _start_postgres(infra)
        args.database_url = _own_database(infra.database_url)
    try:
        print(
            f"{'reviewed frames':>16} {'rows':>10} {'gather s (CPU)':>16} {'versions s':>16} {'route s':>16}"
        )
        for size in args.sizes:
            print(measure(size, versions, args.reps, args.database_url), flush=True)  # rows as they come
    finally:
        if infra is not None:
            infra.stop()


if __name__ == "__main__":
    main()
