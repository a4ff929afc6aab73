"""Dashboard figures: kept frames over time per rule, the confidence histogram, review progress and
the per-model-version share of frames kept by confidence rules, computed by the database."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import update

from backends import Backend
from framescout import Predictions
from framescout.predictions.box import Box
from framescout.store import Store
from framescout.store.accounts import create_project, get_or_create_workspace
from framescout.store.ingest import ImageFields, ingest_image
from framescout.store.models import Image as ImageRow
from framescout.store.models import Project
from framescout.store.provenance import observed_time
from framescout.store.review import save_review
from framescout.store.rule_stats import kept_over_time, rule_totals
from framescout.store.stats import confidence_histogram, review_progress
from framescout.store.thresholds import parse_source, parse_threshold
from framescout.store.version_stats import model_version_stats

pytestmark = pytest.mark.both_backends


@pytest.fixture
def project(tmp_path: Path, backend: Backend) -> Iterator[tuple[Store, Project]]:
    store = backend.open(tmp_path / "d")
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
    metadata: dict[str, Any] | None = None,
    reason: str | None = None,
    boxes: list[list[float]] | None = None,
    device: str | None = None,
) -> str:
    image = Image.new("RGB", (40, 30), (seed, 2 * seed % 256, 7))
    out = io.BytesIO()
    image.save(out, format="PNG")
    predictions = Predictions.from_arrays(
        boxes or [[1, 1, 10, 10]] * len(confidences),
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
            sampling_reason=reason,
            model_version=version,
            device_id=device,
            metadata={**({"rule_kind": kind} if kind else {}), **(metadata or {})},
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
    assert daily.counts["low"][0] == 2 and daily.counts["(no rule: API)"][-1] == 1


def test_kept_over_time_split_by_device_keeps_the_busiest_and_sums_the_rest(
    project: tuple[Store, Project],
) -> None:
    store, proj = project
    start = datetime(2026, 11, 1, 9, 15)
    frames = [("cam-a", 0), ("cam-a", 0), ("cam-a", 1), ("cam-b", 1), ("cam-b", 1), ("cam-c", 0), (None, 1)]
    for seed, (device, hour) in enumerate(frames):
        add(store, proj, seed, rule="low", device=device, at=start + timedelta(hours=hour))
    with store.db.reading() as session:
        by_rule = kept_over_time(session, proj)
        every = kept_over_time(session, proj, by="device")
        top = kept_over_time(session, proj, by="device", top=2)
        with pytest.raises(ValueError, match="rule, device"):
            kept_over_time(session, proj, by="model")
    assert (by_rule.by, by_rule.counts) == ("rule", {"low": [3, 4]})
    assert every.by == "device" and every.buckets == ["2026-11-01 09:00", "2026-11-01 10:00"]
    assert every.rules == ["cam-a", "cam-b", "(no device)", "cam-c"]
    assert every.counts == {"cam-a": [2, 1], "cam-b": [0, 2], "cam-c": [1, 0], "(no device)": [0, 1]}
    assert top.rules == ["cam-a", "cam-b", "(other devices)"]
    assert top.counts == {"cam-a": [2, 1], "cam-b": [0, 2], "(other devices)": [1, 1]}


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


def test_kept_frames_are_placed_by_observed_time_and_the_chart_says_so(
    project: tuple[Store, Project],
) -> None:
    """Six hours of recorded frames uploaded at once are six hourly bars, not one."""
    store, proj = project
    start = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)
    for hour in range(6):  # epoch seconds, as the collector sends them
        seen = (start + timedelta(hours=hour)).timestamp()
        add(store, proj, hour, rule="low", kind="confidence_below", metadata={"observed_at": seen})
    add(
        store, proj, 50, rule="low", metadata={"observed_at": "2026-11-01T12:30:00+01:00"}
    )  # ISO 8601 -> 11:30
    with store.db.reading() as session:
        kept = kept_over_time(session, proj)
    assert kept.unit == "hour"
    assert kept.buckets == [f"2026-11-01 {h:02d}:00" for h in range(6, 12)]
    assert kept.counts == {"low": [1, 1, 1, 1, 1, 2]}
    assert (kept.observed, kept.by_upload, kept.basis) == (7, 0, "by observed time")

    # One frame without an observed time (and one with an implausible one) falls back to upload time.
    add(store, proj, 60, rule="random", at=datetime(2026, 11, 1, 8, 5))
    add(store, proj, 61, rule="random", metadata={"observed_at": 12.5}, at=datetime(2026, 11, 1, 9, 5))
    with store.db.reading() as session:
        kept = kept_over_time(session, proj)
    assert kept.counts["random"] == [0, 0, 1, 1, 0, 0]
    assert kept.basis == "by observed time; 2 frames without one by upload time"


def test_observed_time_formats() -> None:
    now = datetime(2026, 12, 1, 10, 0)
    assert observed_time({"observed_at": 1764583200.5}, now=now) == datetime(2025, 12, 1, 10, 0, 0, 500000)
    assert observed_time({"observed_at": 1764583200500}, now=now) == datetime(2025, 12, 1, 10, 0, 0, 500000)
    assert observed_time({"observed_at": "2026-11-30T23:00:00Z"}, now=now) == datetime(2026, 11, 30, 23, 0)
    assert observed_time({"observed_at": "2026-11-30 23:00:00"}, now=now) == datetime(2026, 11, 30, 23, 0)
    assert observed_time({"observed_at": "1764583200"}, now=now) == datetime(2025, 12, 1, 10, 0)
    for bad in (None, True, "yesterday", 12.5, float("nan"), 1e300, "2027-06-01T00:00:00", [1]):
        assert observed_time({"observed_at": bad}, now=now) is None, bad
    assert observed_time({}, now=now) is None


def test_thresholds_are_read_from_the_reasons_framescout_rules_write() -> None:
    assert parse_threshold("1 box(es) below confidence 0.40 (lowest 0.31)") == "< 0.40"
    assert parse_threshold("2 box(es) below 0.50, the threshold for model version 3") == "< 0.50"
    assert parse_threshold("1 box(es) with confidence in [0.20, 0.60]") == "in [0.20, 0.60]"
    assert parse_threshold("3 box(es) within ±0.05 of 0.50") == "0.50 ± 0.05"
    assert parse_threshold("1 box(es) below their class threshold (e.g. fire hydrant 0.31 < 0.45)") == (
        "fire hydrant < 0.45"
    )
    assert parse_threshold("conditionals met: person at 45% in [10, 90]%, area 5200 px") == "in [10, 90]%"
    assert parse_threshold("max least confidence 0.71 ≥ 0.60") == "≥ 0.60"
    assert parse_threshold("1% of traffic") is None and parse_threshold(None) is None
    evaluated = "1 box(es) below 0.70, the threshold for model version 2 for fire hydrant (evaluation of v2"
    assert parse_threshold(evaluated + " on 9 reviewed frames)") == "fire hydrant < 0.70"
    assert parse_source(evaluated + " on 9 reviewed frames)") == "evaluation of v2 on 9 reviewed frames"
    fallback = "1 box(es) below 0.40, the threshold for model version 3 (fallback: no evaluation for v3)"
    assert (parse_threshold(fallback), parse_source(fallback)) == ("< 0.40", "fallback: no evaluation for v3")
    assert parse_source("2 box(es) below 0.50, the threshold for model version 3") is None


def test_model_versions_show_thresholds_reviewed_and_corrected(project: tuple[Store, Project]) -> None:
    store, proj = project
    car: list[list[float]] = [[2, 2, 20, 20]]
    v1 = [
        add(store, proj, 70 + i, rule="low", version="1", confidences=(0.3,), boxes=car,
            reason=f"1 box(es) below confidence 0.40 (lowest 0.3{i})")
        for i in range(4)
    ]  # fmt: skip
    add(store, proj, 75, rule="random", version="1", reason="1% of traffic")
    v2 = [
        add(store, proj, 80 + i, rule="schedule", version="2", confidences=(0.45,), boxes=car,
            reason="1 box(es) below 0.50, the threshold for model version 2")
        for i in range(2)
    ]  # fmt: skip
    save_review(store.db, proj, v1[0], [Box("car", 2, 2, 20, 20)], reviewer="a")  # kept as predicted
    save_review(store.db, proj, v1[1], [Box("car", 2, 2, 20, 20), Box("car", 22, 2, 30, 9)], reviewer="a")
    save_review(store.db, proj, v1[2], [Box("van", 2, 2, 20, 20)], reviewer="a")  # relabelled
    save_review(store.db, proj, v1[3], [], reviewer="a", status="rejected")  # not a review of the boxes
    save_review(store.db, proj, v2[0], [Box("car", 3, 3, 21, 21)], reviewer="a")  # IoU 0.81: the same
    save_review(store.db, proj, v2[1], [Box("car", 12, 12, 30, 30)], reviewer="a")  # moved: IoU < 0.5
    with store.db.reading() as session:
        one, two = model_version_stats(session, proj)
    assert (one.version, one.thresholds, one.frames, one.reviewed, one.corrected) == (
        "1", ["low: < 0.40"], 5, 3, 2,
    )  # fmt: skip
    assert one.corrected_share == pytest.approx(2 / 3)
    assert (two.version, two.thresholds, two.frames, two.reviewed, two.corrected) == (
        "2", ["schedule: < 0.50"], 2, 2, 1,
    )  # fmt: skip


def test_evaluated_thresholds_show_the_source_of_their_latest_frame(project: tuple[Store, Project]) -> None:
    store, proj = project
    reason = (
        "1 box(es) below 0.55, the threshold for model version 2 (evaluation of v2 on {} reviewed frames)"
    )
    start = datetime(2026, 12, 1, 9, 0)
    for i, frames in enumerate((30, 312, 40)):  # the 312 one is the latest
        add(store, proj, 100 + i, rule="evidence", version="2", confidences=(0.5,),
            reason=reason.format(frames), at=start + timedelta(hours=(0, 5, 2)[i]))  # fmt: skip
    fallback = "1 box(es) below 0.40, the threshold for model version 3 (fallback: no evaluation for v3)"
    add(store, proj, 104, rule="evidence", version="3", confidences=(0.3,), reason=fallback)
    with store.db.reading() as session:
        two, three = model_version_stats(session, proj)
    assert two.thresholds == ["evidence: < 0.55 (evaluation of v2 on 312 reviewed frames)"]
    assert three.thresholds == ["evidence: < 0.40 (fallback: no evaluation for v3)"]


def test_frames_without_a_rule_are_listed_by_source(project: tuple[Store, Project]) -> None:
    store, proj = project
    add(store, proj, 90)
    add(store, proj, 91, metadata={"source": "feedback"})
    add(store, proj, 92, rule="low", kind="confidence_below")
    with store.db.reading() as session:
        totals = rule_totals(session, proj)
    assert totals == {"(no rule: API)": 1, "(no rule: user feedback)": 1, "low": 1}


def test_migration_0007_fills_observed_time_and_source_of_existing_images(tmp_path: Path) -> None:
    """Images stored before 0007 get ``observed_at`` and ``source`` from their metadata at upgrade."""
    import json

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, select, text

    from framescout.store.db import MIGRATIONS

    engine = create_engine(f"sqlite:///{tmp_path / 'framescout.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0006")
        conn.execute(text("INSERT INTO workspaces VALUES ('w', 'w', 'w', '2026-01-01')"))
        conn.execute(
            text("INSERT INTO projects VALUES ('p', 'w', 'p', 'p', 'object-detection', '[]', "
                 "'2026-01-01', '2026-01-01', 0)")
        )  # fmt: skip
        rows = {
            "cam": {"observed_at": 1764500000.0, "rule_kind": "random"},
            "app": {"source": "feedback"},
            "old": {},
        }
        for image_id, metadata in rows.items():
            conn.execute(
                text(
                    "INSERT INTO images (id, project_id, sha256, name, content_type, size_bytes, width, "
                    "height, metadata, created_at) VALUES (:id, 'p', :id, :id, 'image/png', 1, 1, 1, :m, "
                    "'2026-12-01 08:00:00')"
                ),
                {"id": image_id, "m": json.dumps(metadata)},
            )
    engine.dispose()
    store = Store.open(tmp_path)  # applies 0007 at open
    with store.db.reading() as session:
        found = {r.id: (r.source, r.observed_at) for r in session.scalars(select(ImageRow))}
    store.close()
    assert found == {
        "cam": ("collector", datetime(2025, 11, 30, 10, 53, 20)),
        "app": ("feedback", None),
        "old": (None, None),
    }
