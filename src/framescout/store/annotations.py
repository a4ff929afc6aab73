"""Annotation rows: build them from boxes, save one kind for an image (replace or set), list them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, insert, select
from sqlalchemy.orm import Session

from framescout.predictions.box import Box
from framescout.store.accounts import DEFAULT_CLASS_LIMITS, ClassLimits, new_classes
from framescout.store.classes import learn_new_classes
from framescout.store.db import Database
from framescout.store.errors import Conflict, Invalid, NotFound
from framescout.store.models import (
    ANNOTATION_KINDS,
    GROUND_TRUTH,
    PREDICTION,
    Annotation,
    Base,
    Image,
    Project,
    utcnow,
)
from framescout.store.queries import get_image
from framescout.store.validation import check_box_count, check_boxes

INSERT_ANNOTATION = insert(Base.metadata.tables["annotations"])


def row_values(
    boxes: Sequence[Box], image_id: str | None, kind: str, model_version: str | None, now: datetime
) -> list[dict[str, Any]]:
    """The annotations table's values for ``boxes`` (confidence and model version are kept for
    predictions only)."""
    prediction = kind == PREDICTION
    return [
        {
            **vars(b),
            "image_id": image_id,
            "kind": kind,
            "position": i,
            "confidence": b.confidence if prediction else None,
            "model_version": model_version if prediction else None,
            "created_at": now,
        }
        for i, b in enumerate(boxes)
    ]


def annotation_rows(
    boxes: Sequence[Box],
    kind: str,
    model_version: str | None = None,
    *,
    created_by: str | None = None,
    created_at: datetime | None = None,
) -> list[Annotation]:
    """ORM rows for ``boxes``, as `row_values`; the caller sets their image."""
    values = row_values(boxes, None, kind, model_version, created_at or utcnow())
    return [Annotation(**row, created_by=created_by) for row in values]


def checked_boxes(
    db: Database,
    project: Project,
    image_id: str,
    boxes: Sequence[Box],
    *,
    learn: bool = True,
    class_limits: ClassLimits = DEFAULT_CLASS_LIMITS,
) -> tuple[Image, list[Box]]:
    """The image and ``boxes`` checked against it and the project as the database has it now
    (`check_boxes`; with ``learn``, new classes refused early by the caps, re-checked when written)."""
    with db.reading() as session:
        image = get_image(session, project, image_id)
        fresh = session.get(Project, project.id)
        if fresh is None:
            raise NotFound("project_not_found", f"project {project.slug!r} no longer exists")
    clean = check_boxes(boxes, image.width, image.height, fresh, learn=learn)
    if learn and not fresh.strict_classes:
        new_classes(fresh.classes, [b.class_name for b in clean], class_limits)
    return image, clean


def save_annotations(
    db: Database,
    project: Project,
    image_id: str,
    boxes: Sequence[Box],
    *,
    kind: str = GROUND_TRUTH,
    overwrite: bool = False,
    model_version: str | None = None,
    learn_classes: bool = True,
    class_limits: ClassLimits = DEFAULT_CLASS_LIMITS,
) -> int:
    """Replace (``overwrite``) or set the image's annotations of one kind (for predictions: of one
    model version, so other versions' stay); return the number stored.

    The boxes and the class caps are checked against a read snapshot first, outside the write lock;
    the write transaction then only re-checks classes (sets), deletes and bulk-inserts."""
    if kind not in ANNOTATION_KINDS:
        raise Invalid("invalid_kind", f"kind must be one of {ANNOTATION_KINDS}; got {kind!r}")
    check_box_count(len(boxes))
    image, clean = checked_boxes(db, project, image_id, boxes, learn=learn_classes, class_limits=class_limits)
    names = [b.class_name for b in clean]
    rows = row_values(clean, image.id, kind, model_version, utcnow())
    same = _same_set(kind, model_version)
    has_kind = exists().where(Annotation.image_id == image.id, same)
    with db.write_engine.begin() as conn:
        if not overwrite and conn.execute(select(has_kind)).scalar():
            what = kind if kind == GROUND_TRUTH else f"predictions of model version {model_version!r}"
            raise Conflict("already_annotated", f"image {image_id} already has {what}; pass overwrite")
        if names and learn_classes:
            learn_new_classes(conn, project, names, class_limits)
        conn.execute(delete(Annotation).where(Annotation.image_id == image.id, same))
        if rows:
            conn.execute(INSERT_ANNOTATION, rows)
    return len(clean)


def _same_set(kind: str, model_version: str | None) -> ColumnElement[bool]:
    """The rows a save of ``kind`` replaces: the ground truth, or the predictions of that one model
    version (``None``: those without a version), never another version's."""
    return Annotation.kind == GROUND_TRUTH if kind == GROUND_TRUTH else predictions_of(model_version)


def predictions_of(model_version: str | None) -> ColumnElement[bool]:
    """The annotations that are predictions of ``model_version`` (``None``: those without a version)."""
    version = (
        Annotation.model_version.is_(None)
        if model_version is None
        else Annotation.model_version == model_version
    )
    return (Annotation.kind == PREDICTION) & version


def list_annotations(session: Session, image_id: str, kind: str | None = None) -> list[Annotation]:
    query = select(Annotation).where(Annotation.image_id == image_id)
    if kind is not None:
        query = query.where(Annotation.kind == kind)
    return list(session.scalars(query.order_by(Annotation.kind, Annotation.position)))
