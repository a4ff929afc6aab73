"""The store's read queries behind the UI pages and the Roboflow project object (`store.summaries`,
`store.queries`), the pre-labels table (`store.recent_inferences`) and `reload_workspace`, on a
real SQLite store and on PostgreSQL + S3."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from backends import Backend
from framescout.store import NotFound, Store
from framescout.store import models as m
from framescout.store.accounts import (
    create_project,
    get_or_create_workspace,
    register_model,
    reload_workspace,
)
from framescout.store.models import GROUND_TRUTH, PREDICTION, Project, Workspace, utcnow
from framescout.store.queries import filter_choices, image_feedback, load_image
from framescout.store.recent_inferences import count_answers, keep_answer, recent_answers
from framescout.store.reports import set_report_status
from framescout.store.summaries import (
    ImageCounts,
    ProjectCounts,
    class_counts,
    image_counts,
    project_counts,
    project_summary,
)


@dataclass
class Data:
    store: Store
    workspace: Workspace
    cams: Project
    empty: Project
    images: list[str]


def _image(project: Project, n: int, **columns: object) -> m.Image:
    return m.Image(
        project_id=project.id,
        sha256=f"{n:064x}",
        name=f"{n}.jpg",
        content_type="image/jpeg",
        size_bytes=100,
        width=64,
        height=48,
        **columns,
    )


def _box(image_id: str, kind: str, class_name: str, confidence: float | None = None) -> m.Annotation:
    return m.Annotation(
        image_id=image_id,
        kind=kind,
        class_name=class_name,
        x_min=1,
        y_min=1,
        x_max=9,
        y_max=9,
        confidence=confidence,
    )


pytestmark = pytest.mark.both_backends


@pytest.fixture
def data(tmp_path: Path, backend: Backend) -> Iterator[Data]:
    """``cams`` (classes person, car, dog) with three images; ``empty`` with none."""
    store = backend.open(tmp_path / "data")
    with store.db.writing() as session:
        ws = get_or_create_workspace(session, "acme")
        cams = create_project(session, ws, "cams", classes=["person", "car", "dog"])
        empty = create_project(session, ws, "empty")
        batch = m.Batch(project_id=cams.id, name="monday")
        session.add(batch)
        session.flush()
        first = _image(
            cams, 1, sampling_rule="low_confidence", model_version="v2", batch_id=batch.id, device_id="cam-b"
        )
        second = _image(cams, 2, sampling_rule="novelty", review_status="reviewed")
        third = _image(cams, 3, model_version="v1", device_id="cam-a")
        session.add_all([first, second, third])
        session.flush()
        first.tags.append(m.ImageTag(name="night"))
        third.tags.append(m.ImageTag(name="rain"))
        session.add_all(
            [
                _box(first.id, PREDICTION, "person", 0.3),
                _box(first.id, PREDICTION, "car", 0.7),
                _box(second.id, GROUND_TRUTH, "person"),
                _box(second.id, GROUND_TRUTH, "person"),
                _box(second.id, GROUND_TRUTH, "bicycle"),
                m.Report(project_id=cams.id, image_id=first.id, kind="feedback", corrected=[]),
                m.Report(project_id=cams.id, kind="bug", description="crash"),
                m.Report(project_id=cams.id, kind="bug", description="fixed", status="resolved"),
            ]
        )
        session.flush()
        ids = [first.id, second.id, third.id]
    yield Data(store, ws, cams, empty, ids)
    store.close()


def test_project_counts_count_images_pending_review_and_open_bugs(data: Data) -> None:
    with data.store.db.reading() as session:
        counts = project_counts(session, [data.cams, data.empty])
    assert counts == {
        data.cams.id: ProjectCounts(images=3, pending=2, bugs=1),
        data.empty.id: ProjectCounts(images=0, pending=0, bugs=0),
    }


def test_image_counts_per_card(data: Data) -> None:
    first, second, third = data.images
    with data.store.db.reading() as session:
        counts = image_counts(session, [first, second, third])
        assert image_counts(session, []) == {}
    assert counts == {
        first: ImageCounts(predictions=2, boxes=0, lowest=0.3),
        second: ImageCounts(predictions=0, boxes=3, lowest=None),
        third: ImageCounts(),
    }


def test_class_counts_list_every_class_then_the_learnt_ones(data: Data) -> None:
    with data.store.db.reading() as session:
        counts = class_counts(session, data.cams)
        assert class_counts(session, data.empty) == {}
    assert counts == {"person": 2, "car": 0, "dog": 0, "bicycle": 1}  # predictions do not count
    assert list(counts)[:3] == ["person", "car", "dog"]


def test_project_summary_gathers_counts_classes_and_versions(data: Data) -> None:
    with data.store.db.writing() as session:
        register_model(session, data.cams, 3, "ab" * 32, None, ["person"])
    with data.store.db.reading() as session:
        summary = project_summary(session, data.cams)
        assert [v.version for v in summary.versions] == [3]
    assert summary.images == {"total": 3, "train": 0, "valid": 0, "test": 0, "unannotated": 2}
    assert summary.classes["person"] == 2


def test_filter_choices_are_the_values_present_sorted(data: Data) -> None:
    with data.store.db.reading() as session:
        choices = filter_choices(session, data.cams)
        nothing = filter_choices(session, data.empty)
    assert choices.rules == ["low_confidence", "novelty"]
    assert choices.tags == ["night", "rain"]
    assert choices.batches == ["monday"]
    assert choices.model_versions == ["v1", "v2"]
    assert choices.devices == ["cam-a", "cam-b"]  # the image without a device adds no choice
    assert (nothing.rules, nothing.tags, nothing.batches, nothing.model_versions, nothing.devices) == (
        [],
        [],
        [],
        [],
        [],
    )


def test_load_image_is_scoped_to_its_project(data: Data) -> None:
    image = load_image(data.store.db, data.cams, data.images[0])
    assert (image.id, image.name, [t.name for t in image.tags]) == (data.images[0], "1.jpg", ["night"])
    with pytest.raises(NotFound) as caught:
        load_image(data.store.db, data.empty, data.images[0])
    assert caught.value.code == "image_not_found"


def test_image_feedback_is_the_feedback_about_that_image_only(data: Data) -> None:
    with data.store.db.reading() as session:
        first = load_image(data.store.db, data.cams, data.images[0])
        found = image_feedback(session, first)
        assert [(r.kind, r.image_id) for r in found] == [("feedback", first.id)]
        assert image_feedback(session, load_image(data.store.db, data.cams, data.images[1])) == []


def test_reload_workspace_gives_a_row_of_this_session(data: Data) -> None:
    with data.store.db.writing() as session:
        row = reload_workspace(session, data.workspace)
        assert row is not data.workspace and row.id == data.workspace.id and row in session
        ghost = Workspace(id="0" * 32, slug="gone", name="gone")
        with pytest.raises(NotFound) as caught:
            reload_workspace(session, ghost)
    assert caught.value.code == "workspace_not_found"


def _answer(workspace: Workspace, n: int, *, minutes_ago: float, size: int = 64) -> dict[str, object]:
    return {
        "workspace_id": workspace.id,
        "model": "cams/1",
        "bytes_sha256": f"{n:064x}",
        "pixels_sha256": f"{n + 1000:064x}",
        "width": size,
        "height": size,
        "predictions": {"predictions": [], "image": {"width": size, "height": size}},
        "created_at": utcnow() - timedelta(minutes=minutes_ago),
    }


def test_recent_answers_match_bytes_or_size_within_the_window(data: Data) -> None:
    db, ws = data.store.db, data.workspace
    far = utcnow() - timedelta(days=1)
    keep_answer(db, _answer(ws, 1, minutes_ago=20), expire_before=far, max_rows=100)
    keep_answer(db, _answer(ws, 2, minutes_ago=2, size=32), expire_before=far, max_rows=100)
    keep_answer(db, _answer(ws, 3, minutes_ago=1), expire_before=far, max_rows=100)
    since = utcnow() - timedelta(minutes=10)
    by_size = recent_answers(db, ws, bytes_sha256="f" * 64, width=64, height=64, since=since)
    assert [r.bytes_sha256 for r in by_size] == [f"{3:064x}"]  # the 20-minute-old one is outside
    by_bytes = recent_answers(db, ws, bytes_sha256=f"{2:064x}", width=1, height=1, since=since)
    assert [r.bytes_sha256 for r in by_bytes] == [f"{2:064x}"]
    older = recent_answers(db, ws, bytes_sha256="f" * 64, width=64, height=64, since=far)
    assert [r.bytes_sha256 for r in older] == [f"{3:064x}", f"{1:064x}"]  # newest first


def test_keep_answer_expires_old_rows_and_keeps_the_newest(data: Data) -> None:
    db, ws = data.store.db, data.workspace
    keep_answer(db, _answer(ws, 1, minutes_ago=30), expire_before=utcnow() - timedelta(days=1), max_rows=100)
    keep_answer(
        db, _answer(ws, 2, minutes_ago=1), expire_before=utcnow() - timedelta(minutes=10), max_rows=100
    )
    assert count_answers(db) == 1  # the 30-minute-old answer expired
    for n in range(3, 7):
        keep_answer(db, _answer(ws, n, minutes_ago=0), expire_before=utcnow() - timedelta(days=1), max_rows=3)
    kept = recent_answers(
        db, ws, bytes_sha256="f" * 64, width=64, height=64, since=utcnow() - timedelta(days=1)
    )
    assert count_answers(db) == 3 and {r.bytes_sha256 for r in kept} == {f"{n:064x}" for n in (4, 5, 6)}


def test_image_feedback_is_listed_oldest_first_even_after_an_edit(data: Data) -> None:
    """Not in whatever order the table happens to hold rows: PostgreSQL moves an updated row."""
    start = utcnow()
    with data.store.db.writing() as session:
        reports = [
            m.Report(
                project_id=data.cams.id,
                image_id=data.images[2],
                kind="feedback",
                verdict=verdict,
                created_at=start + timedelta(seconds=n),
            )
            for n, verdict in enumerate(["wrong_class", "missed", "correct"])
        ]
        session.add_all(reports)
        session.flush()
        ids = [r.id for r in reports]
    with data.store.db.writing() as session:
        set_report_status(session, data.cams, ids[0], "resolved")  # an UPDATE of the oldest
    with data.store.db.reading() as session:
        third = load_image(data.store.db, data.cams, data.images[2])
        assert [r.id for r in image_feedback(session, third)] == ids
