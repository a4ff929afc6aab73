"""Time of the rule yield (``GET .../rules-yield``'s computation) and of the review queue's orders on
1k, 10k and 100k reviewed frames of an embedded (SQLite) store.

Frames are written straight into the store's tables (synthetic boxes: 4 predictions per frame of
version 1, ground truth made from them with a random mix of kept, moved, relabelled, removed and
added boxes; four sampling rules), then `rules_yield` is timed, and the first frame of each queue
order over as many pending frames.

    python benchmarks/rule_yield_speed.py [--frames 1000 10000 100000] [--reps 3]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from framescout.store import Store
from framescout.store.accounts import create_project, get_or_create_workspace
from framescout.store.models import GROUND_TRUTH, PREDICTION, REVIEWED, Annotation, Image, Project
from framescout.store.queries import ImageFilter
from framescout.store.review import first_pending
from framescout.store.review_order import ORDERS, sort_keys
from framescout.store.rule_yield import rule_ranking, rules_yield

RULES = ("low-confidence", "near-threshold", "random", "hourly")
CLASSES = ("person", "car", "dog", "truck")


def _boxes(rng: random.Random) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Four predictions and the reviewer's edit of them: ``(class, x0, y0, x1, y1[, confidence])``."""
    predictions, truth = [], []
    for _ in range(4):
        x, y = rng.uniform(0, 500), rng.uniform(0, 380)
        name = rng.choice(CLASSES)
        predictions.append((name, x, y, x + 100, y + 100, rng.uniform(0.2, 0.99)))
        edit = rng.random()
        if edit < 0.7:
            truth.append((name, x + 3, y + 3, x + 103, y + 103))
        elif edit < 0.8:
            truth.append((name, x + 60, y + 60, x + 160, y + 160))  # moved
        elif edit < 0.9:
            truth.append((rng.choice([c for c in CLASSES if c != name]), x, y, x + 100, y + 100))
        # else removed
    if rng.random() < 0.2:
        truth.append(("car", 10, 10, 40, 40))  # added
    return predictions, truth


def fill(store: Store, project: Project, frames: int, *, reviewed: bool) -> None:
    """``frames`` frames with boxes, reviewed (with ground truth) or pending, written in bulk."""
    rng = random.Random(frames)
    start = datetime(2026, 11, 1)
    tag = "r" if reviewed else "p"
    for lo in range(0, frames, 5000):
        images, boxes = [], []
        for i in range(lo, min(frames, lo + 5000)):
            image_id = f"{tag}{i:015d}"
            images.append(
                {
                    "id": image_id, "project_id": project.id, "sha256": f"{tag}{i:063d}", "name": f"{i}.jpg",
                    "content_type": "image/jpeg", "size_bytes": 1, "width": 640, "height": 480,
                    "metadata_": {},
                    "sampling_rule": RULES[i % len(RULES)], "model_version": "1",
                    "created_at": start + timedelta(seconds=i),
                    "review_status": REVIEWED if reviewed else None,
                }
            )  # fmt: skip
            predictions, truth = _boxes(rng)
            for n, (name, x0, y0, x1, y1, conf) in enumerate(predictions):
                boxes.append(_box(image_id, PREDICTION, n, name, (x0, y0, x1, y1), conf, "1"))
            for n, (name, x0, y0, x1, y1) in enumerate(truth if reviewed else []):
                boxes.append(_box(image_id, GROUND_TRUTH, n, name, (x0, y0, x1, y1), None, None))
        with store.db.writing() as session:
            session.execute(insert(Image), images)
            session.execute(insert(Annotation), boxes)


def _box(
    image_id: str,
    kind: str,
    n: int,
    name: str,
    xyxy: tuple[float, ...],
    conf: float | None,
    version: str | None,
) -> dict[str, Any]:
    x0, y0, x1, y1 = xyxy
    return {
        "image_id": image_id, "kind": kind, "position": n, "class_name": name, "x_min": x0, "y_min": y0,
        "x_max": x1, "y_max": y1, "confidence": conf, "model_version": version,
    }  # fmt: skip


def best_of(reps: int, work: Any) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(store: Store, project: Project, frames: int, reps: int) -> str:
    """One line of the table: the rule yield, the rule ranking and the first frame of each order."""

    def yields() -> None:
        with store.db.reading() as session:
            rows = rules_yield(session, project)
        assert sum(r.reviewed for r in rows) == frames

    def ranking() -> dict[str | None, float]:
        with store.db.reading() as session:
            return rule_ranking(session, project)

    ranked = ranking()
    orders = [
        best_of(reps, lambda o=o: first_pending(store.db, project, ImageFilter(), sort_keys(o, ranked)))
        for o in ORDERS
    ]
    times = f"{best_of(reps, yields):>14.2f} {best_of(reps, ranking):>15.2f} "
    return f"{frames:>8} {times}" + " ".join(f"{1000 * t:>14.1f}" for t in orders)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'frames':>8} {'rules_yield s':>14} {'rule_ranking s':>15} "
        + " ".join(f"{o + ' ms':>14}" for o in ORDERS)
    )
    for frames in args.frames:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(Path(tmp) / "data")
            with store.db.writing() as session:
                project = create_project(session, get_or_create_workspace(session, "bench"), f"y{frames}")
            fill(store, project, frames, reviewed=True)
            fill(store, project, frames, reviewed=False)

            print(measure(store, project, frames, args.reps))
            store.close()


if __name__ == "__main__":
    main()
