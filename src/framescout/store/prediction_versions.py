"""Predictions of several model versions per image: each version's boxes are a set of their own.

An image keeps its ground truth and, next to it, the predictions of every model version that saw it
(the collector's version at upload, a newer one run over the stored frames by
``framescout models predict``, another posted through the predictions route). Writing one version's
predictions never touches another version's or the ground truth, so versions can be measured side by
side on the same frames.

Every write of one version's set happens in one write transaction holding the image's hash lock
(`framescout.store.hash_locks`; SQLite's ``BEGIN IMMEDIATE`` on SQLite), so a retried or concurrent
write of the same version cannot store its boxes twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Select, delete, exists, func, insert, select
from sqlalchemy.orm import Session

from framescout.predictions.box import Box
from framescout.store.accounts import DEFAULT_CLASS_LIMITS, ClassLimits
from framescout.store.annotations import INSERT_ANNOTATION, checked_boxes, predictions_of, row_values
from framescout.store.classes import learn_new_classes
from framescout.store.db import Database
from framescout.store.errors import NotFound
from framescout.store.hash_locks import lock_hashes
from framescout.store.models import PREDICTION, REVIEWED, Annotation, Base, Image, Project, utcnow
from framescout.store.provenance import MODELS_PREDICT
from framescout.store.validation import check_boxes, check_text

UPLOAD, API, SERVER = "upload", "api", "server"
"""Who made a version's predictions of an image (``prediction_runs.made_by``): sent with the image
(``upload``), through the predictions route (``api``), or by framescout itself (``server``:
``framescout models predict`` or label assist; their boxes carry ``created_by``
`framescout.store.provenance.MODELS_PREDICT` or ``LABEL_ASSIST``)."""

_RUNS = Base.metadata.tables["prediction_runs"]
_INSERT_RUN = insert(_RUNS)


def has_version(conn: Connection | Session, image_id: str, model_version: str | None) -> bool:
    """Whether ``model_version`` predicted the image: a run of it is recorded (even one that found
    nothing), or the image has predictions of it (stored before runs were recorded, or through the
    annotations route)."""
    boxes = exists().where(Annotation.image_id == image_id, predictions_of(model_version))
    if model_version is None:
        return bool(conn.execute(select(boxes)).scalar())
    run = exists().where(_RUNS.c.image_id == image_id, _RUNS.c.model_version == model_version)
    return bool(conn.execute(select(run | boxes)).scalar())


def record_run(conn: Connection, image_id: str, model_version: str, boxes: int, made_by: str) -> None:
    """Inside the write transaction storing them: note that ``model_version`` predicted the image
    (``boxes`` boxes, by ``made_by``), replacing an earlier note of the same version."""
    where = (_RUNS.c.image_id == image_id) & (_RUNS.c.model_version == model_version)
    conn.execute(delete(_RUNS).where(where))
    values = {"image_id": image_id, "model_version": model_version, "boxes": boxes, "made_by": made_by}
    conn.execute(_INSERT_RUN, {**values, "created_at": utcnow()})


def model_version_text(model_version: str) -> str:
    """A model version as the routes take it: 1-200 characters without control characters
    (422 ``invalid_model_version``)."""
    return str(check_text(model_version.strip(), "model_version", 200))


def write_version(
    conn: Connection,
    project: Project,
    image_id: str,
    boxes: Sequence[Box],
    model_version: str,
    *,
    replace: bool,
    made_by: str,
    class_limits: ClassLimits = DEFAULT_CLASS_LIMITS,
) -> int | None:
    """Inside a write transaction that holds the image's hash lock: store ``boxes`` (checked) as the
    image's predictions of ``model_version`` and record the run (`record_run`). With ``replace`` the
    version's earlier boxes are deleted first; without it an image that has the version already is
    left as it is (``None``). Returns the number of boxes stored."""
    if not replace and has_version(conn, image_id, model_version):
        return None
    if boxes:
        learn_new_classes(conn, project, [b.class_name for b in boxes], class_limits)
    if replace:
        conn.execute(delete(Annotation).where(Annotation.image_id == image_id, predictions_of(model_version)))
    if boxes:
        rows = row_values(boxes, image_id, PREDICTION, model_version, utcnow())
        created_by = MODELS_PREDICT if made_by == SERVER else None
        conn.execute(INSERT_ANNOTATION, [{**row, "created_by": created_by} for row in rows])
    record_run(conn, image_id, model_version, len(boxes), made_by)
    return len(boxes)


@dataclass(frozen=True)
class VersionSaved:
    """What `replace_predictions` did: ``count`` boxes stored; ``replaced`` when the image had
    predictions of the version before (they are gone now)."""

    count: int
    replaced: bool


def replace_predictions(
    db: Database,
    project: Project,
    image_id: str,
    boxes: Sequence[Box],
    model_version: str,
    *,
    made_by: str = API,
    class_limits: ClassLimits = DEFAULT_CLASS_LIMITS,
) -> VersionSaved:
    """Make ``boxes`` the image's predictions of ``model_version``, in one transaction: the version's
    earlier predictions are replaced, other versions' and the ground truth stay.

    The boxes are checked as an upload's ``predictions`` are (classes of a strict project, the
    image's bounds, the box and class caps), against a read snapshot, before the write."""
    image, clean = checked_boxes(db, project, image_id, boxes, class_limits=class_limits)
    with db.write_engine.begin() as conn:
        lock_hashes(conn, [image.sha256])
        replaced = has_version(conn, image.id, model_version)
        count = write_version(
            conn,
            project,
            image.id,
            clean,
            model_version,
            replace=True,
            made_by=made_by,
            class_limits=class_limits,
        )
    return VersionSaved(count or 0, replaced)


@dataclass(frozen=True)
class Pending:
    """An image a model version has not predicted yet: what a run needs to read and check it."""

    id: str
    sha256: str
    width: int
    height: int


def _pending(project: Project, model_version: str, reviewed: bool) -> Select[str, str, int, int]:
    """The project's images of one review state (``reviewed``, else waiting for review; rejected
    frames are left out) that ``model_version`` has not predicted (`has_version` false)."""
    ran = exists().where(_RUNS.c.image_id == Image.id, _RUNS.c.model_version == model_version)
    boxes = exists().where(Annotation.image_id == Image.id, predictions_of(model_version))
    status = Image.review_status == REVIEWED if reviewed else Image.review_status.is_(None)
    return select(Image.id, Image.sha256, Image.width, Image.height).where(
        Image.project_id == project.id, status, ~ran, ~boxes
    )


def count_pending(session: Session, project: Project, model_version: str, *, reviewed: bool) -> int:
    query = select(func.count()).select_from(_pending(project, model_version, reviewed).subquery())
    return int(session.scalar(query) or 0)


def pending_images(
    session: Session, project: Project, model_version: str, *, reviewed: bool, after: str, limit: int
) -> list[Pending]:
    """Up to ``limit`` images `count_pending` counts, by id after ``after`` (a keyset: an image that
    could not be read is passed over, not fetched again within the run)."""
    query = _pending(project, model_version, reviewed).where(Image.id > after).order_by(Image.id).limit(limit)
    return [Pending(row.id, row.sha256, row.width, row.height) for row in session.execute(query)]


def store_predicted(
    db: Database,
    project: Project,
    model_version: str,
    results: Sequence[tuple[Pending, Sequence[Box]]],
    *,
    class_limits: ClassLimits = DEFAULT_CLASS_LIMITS,
) -> int:
    """Store a batch of framescout's own predictions (``made_by`` ``server``) in one transaction,
    each checked against its image; an image another writer gave this version meanwhile is left as
    it is. Returns the number of boxes stored."""
    with db.reading() as session:
        fresh = session.get(Project, project.id)
    if fresh is None:
        raise NotFound("project_not_found", f"project {project.slug!r} no longer exists")
    checked = [(p, check_boxes(boxes, p.width, p.height, fresh, learn=True)) for p, boxes in results]
    stored = 0
    with db.write_engine.begin() as conn:
        lock_hashes(conn, [p.sha256 for p, _ in checked])
        for p, boxes in checked:
            count = write_version(
                conn,
                project,
                p.id,
                boxes,
                model_version,
                replace=False,
                made_by=SERVER,
                class_limits=class_limits,
            )
            stored += count or 0
    return stored
