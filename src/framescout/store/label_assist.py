"""Label assist in the database: which images wait for server-made pre-labels, who claimed them, and
the predictions written for them (the worker that runs the model is `framescout.server.label_assist`).

An image is a candidate when it is still pending review, has no annotation of any kind (no
predictions came with it and no ground truth), and has no ``label_assist`` row — or a ``failed`` one
of another model version (a new model gets a new try, the same one never), or a ``running`` one
whose lease has expired (its worker was killed). The row is the claim: its primary key is the image,
so a second worker's INSERT is ignored and its conditional UPDATE of an expired claim matches no row;
SQLite's ``BEGIN IMMEDIATE`` and PostgreSQL's row locks make both exact, with any number of workers
on any number of hosts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Update, and_, delete, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from framescout.predictions.box import Box
from framescout.store.accounts import ClassLimits
from framescout.store.annotations import INSERT_ANNOTATION, row_values
from framescout.store.classes import learn_new_classes
from framescout.store.db import Database
from framescout.store.deployments import list_deployments
from framescout.store.models import (
    PREDICTION,
    Annotation,
    Base,
    Image,
    LabelAssist,
    ModelVersion,
    Project,
    utcnow,
)
from framescout.store.prediction_versions import SERVER, record_run
from framescout.store.provenance import LABEL_ASSIST

RUNNING, DONE, SKIPPED, FAILED = "running", "done", "skipped", "failed"


def current_model(session: Session, project: Project) -> ModelVersion | None:
    """The model label assist runs for ``project``: the version of the newest deployment that reaches
    every device (no label selector), else the newest registered version; ``None`` without models."""
    for row in list_deployments(session, project):
        if not row.labels:
            found = session.scalar(
                select(ModelVersion).where(
                    ModelVersion.project_id == project.id, ModelVersion.version == row.version
                )
            )
            if found is not None:
                return found
    newest = select(ModelVersion).where(ModelVersion.project_id == project.id)
    return session.scalar(newest.order_by(ModelVersion.version.desc()))


def projects_with_models(session: Session) -> list[Project]:
    """Every project that has at least one registered model version."""
    having = exists().where(ModelVersion.project_id == Project.id)
    return list(session.scalars(select(Project).where(having).order_by(Project.id)))


@dataclass(frozen=True)
class Claimed:
    """An image this worker holds: its id, content hash and size."""

    image_id: str
    sha256: str
    width: int
    height: int


def claim(
    db: Database,
    project: Project,
    version: int,
    worker: str,
    *,
    limit: int,
    lease: timedelta,
    since: datetime | None = None,
) -> list[Claimed]:
    """Claim up to ``limit`` candidate images of ``project`` (newest first) for ``version``; with
    ``since``, only among images stored since then (an index range, however big the project).

    The candidates are read first, outside any write transaction, so a pass that finds nothing never
    takes SQLite's write lock; each claim is then an INSERT-or-nothing or a conditional UPDATE."""
    now = utcnow()
    expired = now - lease
    annotated = exists().where(Annotation.image_id == Image.id)
    claimable = or_(
        LabelAssist.image_id.is_(None),
        and_(LabelAssist.state == FAILED, LabelAssist.model_version != version),
        and_(LabelAssist.state == RUNNING, LabelAssist.claimed_at < expired),
    )
    query = (
        select(Image.id, Image.sha256, Image.width, Image.height, LabelAssist.claimed_at)
        .outerjoin(LabelAssist, LabelAssist.image_id == Image.id)
        .where(Image.project_id == project.id, Image.review_status.is_(None), ~annotated, claimable)
        .order_by(Image.created_at.desc(), Image.id)
        .limit(limit)
    )
    if since is not None:
        query = query.where(Image.created_at >= since)
    with db.reading() as session:
        candidates = session.execute(query).all()
    won: list[Claimed] = []
    if not candidates:
        return won
    with db.write_engine.begin() as conn:
        for row in candidates:
            values = {"model_version": version, "state": RUNNING, "claimed_by": worker, "claimed_at": now}
            statement: postgresql.Insert | sqlite.Insert | Update
            if row.claimed_at is None:
                statement = _insert_or_ignore(conn).values(image_id=row.id, project_id=project.id, **values)
            else:  # a failed row of another version, or an expired claim: only if nobody moved it since
                statement = (
                    update(LabelAssist)
                    .where(LabelAssist.image_id == row.id, LabelAssist.claimed_at == row.claimed_at)
                    .values(**values, finished_at=None, boxes=None, error=None)
                )
            # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT DO NOTHING
            if conn.execute(statement.returning(LabelAssist.image_id)).first() is not None:
                won.append(Claimed(row.id, row.sha256, row.width, row.height))
    return won


def _insert_or_ignore(conn: Connection) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that does nothing when the image is claimed already (PostgreSQL or SQLite)."""
    table = Base.metadata.tables["label_assist"]
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def _still_mine(conn: Connection, image_id: str, worker: str) -> bool:
    mine = (LabelAssist.image_id == image_id, LabelAssist.state == RUNNING, LabelAssist.claimed_by == worker)
    held = conn.execute(select(LabelAssist.image_id).where(*mine).with_for_update()).first()
    return held is not None


def finish(
    db: Database,
    project: Project,
    image_id: str,
    version: int,
    worker: str,
    boxes: Sequence[Box],
    limits: ClassLimits,
) -> str:
    """Write ``boxes`` as version ``version``'s predictions of the image, made by the server
    (``created_by`` = `LABEL_ASSIST`; the run is recorded in ``prediction_runs``, also when it found
    nothing), and mark the claim ``done``; return the state written.

    Nothing is written when the claim is no longer this worker's (it expired and another took it),
    and the claim becomes ``skipped`` when the image got annotations or a review meanwhile."""
    now = utcnow()
    with db.write_engine.begin() as conn:
        if not _still_mine(conn, image_id, worker):
            return "lost"
        annotated = conn.execute(select(exists().where(Annotation.image_id == image_id))).scalar()
        reviewed = conn.execute(select(Image.review_status).where(Image.id == image_id)).scalar()
        state = SKIPPED if annotated or reviewed is not None else DONE
        if state == DONE and boxes:
            learn_new_classes(conn, project, [b.class_name for b in boxes], limits)
            rows = row_values(boxes, image_id, PREDICTION, str(version), now)
            conn.execute(INSERT_ANNOTATION, [{**r, "created_by": LABEL_ASSIST} for r in rows])
        if state == DONE:
            record_run(conn, image_id, str(version), len(boxes), SERVER)
        conn.execute(
            update(LabelAssist)
            .where(LabelAssist.image_id == image_id)
            .values(state=state, finished_at=now, boxes=len(boxes) if state == DONE else None)
        )
    return state


def fail(db: Database, image_ids: Sequence[str], worker: str, error: str) -> None:
    """Mark this worker's claims of ``image_ids`` ``failed`` with ``error`` (not retried with that
    version; a newer model version tries again)."""
    if not image_ids:
        return
    with db.write_engine.begin() as conn:
        conn.execute(
            update(LabelAssist)
            .where(
                LabelAssist.image_id.in_(list(image_ids)),
                LabelAssist.state == RUNNING,
                LabelAssist.claimed_by == worker,
            )
            .values(state=FAILED, finished_at=utcnow(), error=error[:1000])
        )


def release(db: Database, image_ids: Sequence[str], worker: str) -> None:
    """Give back this worker's unfinished claims (on shutdown), so another worker takes them now."""
    if not image_ids:
        return
    with db.write_engine.begin() as conn:
        conn.execute(
            delete(LabelAssist).where(
                LabelAssist.image_id.in_(list(image_ids)),
                LabelAssist.state == RUNNING,
                LabelAssist.claimed_by == worker,
            )
        )


def assist_of(session: Session, image_id: str) -> LabelAssist | None:
    """The label-assist record of an image (``None``: the server never pre-labelled it)."""
    return session.get(LabelAssist, image_id)
