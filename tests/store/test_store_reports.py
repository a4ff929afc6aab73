"""store/reports.py: a report is checked once against its image and written in the image's own
transaction (as the ingest's ``check`` and ``attach`` hooks), or about an image already stored."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from backends import Backend
from framescout.predictions.box import Box
from framescout.store import Store
from framescout.store.accounts import DEFAULT_CLASS_LIMITS, create_project, get_or_create_workspace
from framescout.store.errors import Invalid, NotFound
from framescout.store.ingest import ImageFields, ingest_image
from framescout.store.models import Image as ImageRow
from framescout.store.models import Project, Report, utcnow
from framescout.store.reports import (
    PendingReport,
    ReportIn,
    add_report,
    check_bug_report,
    check_feedback,
    get_report,
    list_reports,
    set_report_status,
)


def jpeg(seed: int) -> bytes:
    """A real 64x48 JPEG whose bytes differ per ``seed``."""
    image = Image.new("RGB", (64, 48), (seed * 40 % 256, 80, 120))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


pytestmark = pytest.mark.both_backends


@pytest.fixture
def store(tmp_path: Path, backend: Backend) -> Iterator[Store]:
    store = backend.open(tmp_path / "data")
    with store.db.writing() as session:
        acme = get_or_create_workspace(session, "acme")
        create_project(session, acme, "fixed", classes=["person", "car"])
        create_project(session, acme, "open")
    yield store
    store.close()


def project(store: Store, slug: str) -> Project:
    with store.db.reading() as session:
        found = session.scalars(select(Project).where(Project.slug == slug)).one()
        session.expunge(found)
        return found


def counts(store: Store) -> tuple[int, int, int]:
    """Image rows, report rows, stored blobs."""
    with store.db.reading() as session:
        images = int(session.scalar(select(func.count()).select_from(ImageRow)) or 0)
        reports = int(session.scalar(select(func.count()).select_from(Report)) or 0)
    return images, reports, len(store.blobs.iter_hashes())


def feedback(*corrected: Box, verdict: str = "correct", prediction: int | None = None) -> ReportIn:
    return check_feedback(
        verdict=verdict,
        prediction_index=prediction,
        corrected=corrected,
        comment=None,
        app_version=None,
        metadata={},
    )


def ingest_with(store: Store, slug: str, data: bytes, report: ReportIn) -> PendingReport:
    """The upload pipeline with the report as its hooks, as the feedback routes run it."""
    proj = project(store, slug)
    pending = PendingReport(proj, report, class_limits=DEFAULT_CLASS_LIMITS)
    ingest_image(
        store.db,
        store.blobs,
        proj,
        data,
        ImageFields(tags=["feedback"]),
        check=pending.check_prepared,
        attach=pending.attach,
    )
    return pending


def test_a_report_with_a_new_image_is_written_in_its_transaction(store: Store) -> None:
    pending = ingest_with(store, "open", jpeg(1), feedback(Box("dog", -0.5, 2, 30, 20)))
    assert pending.id is not None and counts(store) == (1, 1, 1)
    with store.db.reading() as session:
        report = get_report(session, project(store, "open"), pending.id)
        assert report.corrected == [{"class": "dog", "x_min": 0.0, "y_min": 2, "x_max": 30, "y_max": 20}]
        assert {t.name for t in session.get_one(ImageRow, report.image_id).tags} == {
            "feedback",
            "feedback-correct",
        }
    assert project(store, "open").classes == ["dog"]


@pytest.mark.parametrize(
    ("slug", "box", "code"),
    [
        ("open", Box("dog", 10, 10, 200, 20), "box_outside_image"),
        ("open", Box("dog", 10, 10, 10, 20), "invalid_box"),
        ("fixed", Box("cat", 10, 10, 20, 20), "unknown_class"),
    ],
)
def test_a_refused_correction_stores_no_image_and_no_report(
    store: Store, slug: str, box: Box, code: str
) -> None:
    with pytest.raises(Invalid) as refused:
        ingest_with(store, slug, jpeg(2), feedback(box))
    assert refused.value.code == code
    assert counts(store) == (0, 0, 0) and project(store, slug).classes == (
        ["person", "car"] if slug == "fixed" else []
    )


def test_a_fixed_list_names_its_classes_for_corrections(store: Store) -> None:
    with pytest.raises(Invalid, match=r"corrected: .*valid classes are \['person', 'car'\]"):
        ingest_with(store, "fixed", jpeg(3), feedback(Box("cat", 1, 1, 5, 5)))


def test_a_duplicate_is_checked_against_its_stored_predictions(store: Store) -> None:
    """Known bytes: the report's prediction must be one of the stored image's; a refusal in the
    attach hook rolls the report back and leaves the stored image as it was."""
    first = ingest_with(store, "open", jpeg(4), feedback())
    before = counts(store)
    with pytest.raises(NotFound) as refused:
        ingest_with(store, "open", jpeg(4), feedback(verdict="wrong", prediction=0))
    assert refused.value.code == "unknown_prediction" and counts(store) == before
    again = ingest_with(store, "open", jpeg(4), feedback(verdict="missing_object"))
    with store.db.reading() as session:
        image_id = get_report(session, project(store, "open"), str(first.id)).image_id
        assert get_report(session, project(store, "open"), str(again.id)).image_id == image_id


def test_reports_about_stored_images_and_none(store: Store) -> None:
    ingest_with(store, "open", jpeg(5), feedback())
    proj = project(store, "open")
    with store.db.reading() as session:
        image_id = session.scalars(select(ImageRow.id)).one()
    with store.db.write_engine.begin() as conn:
        with pytest.raises(Invalid) as refused:
            add_report(conn, proj, image_id, feedback(Box("dog", 1, 1, 65 + 5, 5)))
        assert refused.value.code == "box_outside_image"
        with pytest.raises(NotFound):
            add_report(conn, proj, "nope", feedback())
        bug = add_report(
            conn,
            proj,
            None,
            check_bug_report(severity="crash", description="it crashed", app_version="1", metadata={}),
        )
    with store.db.writing() as session:
        assert set_report_status(session, proj, bug, "resolved").status == "resolved"
    with store.db.reading() as session, pytest.raises(NotFound):
        get_report(session, project(store, "fixed"), bug)  # another project's report


def test_report_pages_neither_repeat_nor_skip_reports_made_at_the_same_moment(store: Store) -> None:
    """Reports with one timestamp, paged while one of them is edited: every report exactly once (the
    order is total; neither database keeps ties in one order from one query to the next)."""
    proj = project(store, "open")
    moment = utcnow()
    with store.db.writing() as session:
        rows = [
            Report(project_id=proj.id, kind="bug", description=f"bug {n}", created_at=moment)
            for n in range(6)
        ]
        session.add_all(rows)
    seen: list[str] = []
    for offset in (0, 2, 4):
        with store.db.writing() as session:
            page, total = list_reports(session, proj, limit=2, offset=offset)
            assert total == 6
            seen += [r.id for r in page]
            set_report_status(session, proj, page[0].id, "resolved")  # an UPDATE between pages
    assert sorted(seen) == sorted(r.id for r in rows)
