"""Review: a person's verdict on an image becomes its ground truth, with who and when.

Saving a review replaces the image's ground-truth boxes and stamps the image ``reviewed`` in one
transaction, so a reader never sees boxes without their review or a review without its boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete

from framescout.predictions.box import Box
from framescout.store.accounts import add_classes
from framescout.store.annotations import annotation_rows
from framescout.store.db import Database
from framescout.store.errors import Invalid
from framescout.store.models import GROUND_TRUTH, REJECTED, REVIEWED, Annotation, Image, Project, utcnow
from framescout.store.queries import ImageFilter, filtered_query, get_image
from framescout.store.review_order import DEFAULT_ORDER, SortKey, after, key_values, ordered, sort_keys
from framescout.store.validation import MAX_BOXES_PER_IMAGE, check_boxes

MAX_REVIEW_BOXES = MAX_BOXES_PER_IMAGE  # the same cap as annotation uploads and predictions


@dataclass(frozen=True)
class ReviewResult:
    image_id: str
    status: str
    boxes: int
    reviewed_by: str
    reviewed_at: datetime


def save_review(
    db: Database,
    project: Project,
    image_id: str,
    boxes: Sequence[Box],
    *,
    reviewer: str,
    status: str = REVIEWED,
) -> ReviewResult:
    """Store ``boxes`` as the image's ground truth (``reviewed``), or mark it ``rejected`` (no boxes).

    Boxes are validated like uploaded annotations: inside the image, and of a known class when the
    project has a fixed class list (otherwise new classes are learnt)."""
    if status not in (REVIEWED, REJECTED):
        raise Invalid("invalid_status", f"status must be {REVIEWED} or {REJECTED}; got {status!r}")
    if status == REJECTED and boxes:
        raise Invalid("rejected_with_boxes", "a rejected image cannot have boxes")
    if len(boxes) > MAX_REVIEW_BOXES:
        raise Invalid("too_many_boxes", f"at most {MAX_REVIEW_BOXES} boxes per image")
    reviewer = reviewer.strip()[:200] or "unknown"
    now = utcnow()
    with db.writing() as session:
        image = get_image(session, project, image_id)
        fresh = session.get(Project, project.id)
        assert fresh is not None
        clean = check_boxes(boxes, image.width, image.height, fresh, learn=True)
        session.execute(
            delete(Annotation).where(Annotation.image_id == image.id, Annotation.kind == GROUND_TRUTH)
        )
        add_classes(fresh, [b.class_name for b in clean])
        for row in annotation_rows(clean, GROUND_TRUTH, created_by=reviewer, created_at=now):
            row.image_id = image.id
            session.add(row)
        image.review_status = status
        image.reviewed_by = reviewer
        image.reviewed_at = now
    return ReviewResult(image_id, status, len(clean), reviewer, now)


def neighbours(
    db: Database,
    project: Project,
    image_id: str,
    f: ImageFilter,
    *,
    pending_only: bool = False,
    keys: Sequence[SortKey] | None = None,
) -> tuple[str | None, str | None]:
    """The images before and after ``image_id`` in the queue's order (``keys``: newest first unless
    said, `framescout.store.review_order`) under ``f``.

    With ``pending_only`` the "next" is the next image still waiting for review, wrapping around to
    the first one so a reviewer working through a queue never falls off its end."""
    keys = keys or sort_keys(DEFAULT_ORDER)
    with db.reading() as session:
        current = get_image(session, project, image_id)
        query = filtered_query(project, f).with_only_columns(Image.id)
        values = key_values(session, keys, current.id)
        newer = ordered(query.where(after(keys, values, reverse=True)), keys, reverse=True)
        older = ordered(query.where(after(keys, values)), keys)
        previous = session.scalar(newer.limit(1))
        if pending_only:
            waiting = Image.review_status.is_(None)
            following = session.scalar(older.where(waiting).limit(1))
            if following is None:
                following = session.scalar(
                    ordered(query.where(waiting, Image.id != current.id), keys).limit(1)
                )
        else:
            following = session.scalar(older.limit(1))
    return previous, following


def first_pending(
    db: Database, project: Project, f: ImageFilter, keys: Sequence[SortKey] | None = None
) -> str | None:
    """The first image under ``f`` that still waits for review, in the queue's order (newest first
    unless ``keys`` says otherwise)."""
    query = filtered_query(project, f).where(Image.review_status.is_(None)).with_only_columns(Image.id)
    with db.reading() as session:
        found: str | None = session.scalar(ordered(query, keys or sort_keys(DEFAULT_ORDER)).limit(1))
    return found
