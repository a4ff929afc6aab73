"""Dashboard figures: kept frames over time per rule, the confidence histogram, review progress and
the per-model-version share of frames kept by confidence rules, computed by the database."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import update

from framescout import Predictions
from framescout.store import Store
from framescout.store.accounts import create_project, get_or_create_workspace
from framescout.store.images import Box, ImageFields, ingest_image
from framescout.store.models import Image as ImageRow
from framescout.store.models import Project
from framescout.store.review import save_review
from framescout.store.stats import confidence_histogram, kept_over_time, model_version_stats, review_progress


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Store, Project]]:
    store = Store.open(tmp_path / "d")
    with store.db.writing() as session:
        proj = create_project(session, get_or_create_workspace(session, "acme"), "cams")
    yield store, proj
    store.close()


def add(
    store: Store,
    proj: Project,
    seed: int,
    *,
    rule: str | None = None,
    version: str | None = None,
    kind: str | None = None,
    confidences: tuple[float, ...] = (),
    at: datetime | None = None,
) -> str:
    image = Image.new("RGB", (40, 30), (seed, 2 * seed % 256, 7))
    out = io.BytesIO()
    image.save(out, format="PNG")
    predictions = Predictions.from_arrays(
        [[1, 1, 10, 10]] * len(confidences),
        list(confidences),
        [0] * len(confidences),
        class_name=["car"] * len(confidences),
    )
    result = ingest_image(
        store.db,
        store.blobs,
        proj,
        out.getvalue(),
        ImageFields(
            predictions=predictions if confidences else None,
            sampling_rule=rule,
            model_version=version,
            metadata={"rule_kind": kind} if kind else {},
        ),
    )
    if at is not None:
        with store.db.writing() as session:
            session.execute(update(ImageRow).where(ImageRow.id == result.id).values(created_at=at))
    return result.id


def test_kept_over_time_is_hourly_for_a_short_span_and_daily_for_a_long_one(
    project: tuple[Store, Project],
) -> None:
    store, proj = project
    start = datetime(2026, 11, 1, 9, 15)
    add(store, proj, 1, rule="low", at=start)
    add(store, proj, 2, rule="low", at=start + timedelta(minutes=30))
    add(store, proj, 3, rule="random", at=start + timedelta(hours=2))
    with store.db.reading() as session:
        hourly = kept_over_time(session, proj)
    assert hourly.unit == "hour"
    assert hourly.buckets == ["2026-11-01 09:00", "2026-11-01 10:00", "2026-11-01 11:00"]
    assert hourly.rules == ["low", "random"]
    assert hourly.counts == {"low": [2, 0, 0], "random": [0, 0, 1]}

    add(store, proj, 4, at=start + timedelta(days=5))  # no rule
    with store.db.reading() as session:
        daily = kept_over_time(session, proj)
    assert daily.unit == "day"
    assert daily.buckets[0] == "2026-11-01" and daily.buckets[-1] == "2026-11-06" and len(daily.buckets) == 6
    assert daily.counts["low"][0] == 2 and daily.counts["(no rule)"][-1] == 1


def test_histogram_counts_every_prediction_once_including_the_edges(project: tuple[Store, Project]) -> None:
    store, proj = project
    add(store, proj, 1, confidences=(0.0, 0.049, 0.05, 0.5))
    add(store, proj, 2, confidences=(0.999, 1.0))
    with store.db.reading() as session:
        counts = confidence_histogram(session, proj)
    assert len(counts) == 20 and sum(counts) == 6
    assert counts[0] == 2 and counts[1] == 1 and counts[10] == 1 and counts[19] == 2


def test_model_versions_in_numeric_order_with_confidence_rule_share(project: tuple[Store, Project]) -> None:
    store, proj = project
    for i in range(4):
        add(
            store,
            proj,
            10 + i,
            version="2",
            kind="confidence_below" if i < 3 else "random",
            confidences=(0.3,),
        )
    for i in range(4):
        add(
            store,
            proj,
            20 + i,
            version="10",
            kind="threshold_schedule" if i < 1 else "random",
            confidences=(0.8,),
        )
    add(store, proj, 30, version="10")  # kept by an app without a rule kind: counted, not as confidence
    with store.db.reading() as session:
        stats = model_version_stats(session, proj)
    assert [(s.version, s.frames, s.by_confidence_rules) for s in stats] == [("2", 4, 3), ("10", 5, 1)]
    assert stats[0].confidence_share == pytest.approx(0.75)
    assert stats[0].mean_confidence == pytest.approx(0.3) and stats[1].mean_confidence == pytest.approx(0.8)


def test_review_progress(project: tuple[Store, Project]) -> None:
    store, proj = project
    ids = [add(store, proj, i) for i in range(5)]
    save_review(store.db, proj, ids[0], [Box("car", 1, 1, 5, 5), Box("car", 2, 2, 9, 9)], reviewer="a")
    save_review(store.db, proj, ids[1], [], reviewer="a")
    save_review(store.db, proj, ids[2], [], reviewer="b", status="rejected")
    with store.db.reading() as session:
        progress = review_progress(session, proj)
    assert (progress.total, progress.reviewed, progress.rejected, progress.pending) == (5, 2, 1, 2)
    assert progress.ground_truth_boxes == 2 and progress.done_share == pytest.approx(0.6)
