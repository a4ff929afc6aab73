"""Read-side image queries: one image, filtered pages, counts and batches."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from framescout.store.db import Database
from framescout.store.errors import Invalid, NotFound
from framescout.store.models import (
    GROUND_TRUTH,
    PREDICTION,
    Annotation,
    Batch,
    Image,
    ImageTag,
    LabelAssist,
    Project,
    Report,
)


@dataclass
class ImageFilter:
    """Listing filters; ``None`` means "any"."""

    batch: str | None = None
    tag: str | None = None
    split: str | None = None
    sampling_rule: str | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    labelled: bool | None = None
    device_id: str | None = None
    model_version: str | None = None
    review_status: str | None = None
    """``pending`` (not reviewed yet), ``reviewed`` or ``rejected``."""
    assist: str | None = None
    """Label assist (`framescout.store.label_assist`): ``server`` (pre-labelled by the server) or
    ``failed`` (the server could not pre-label it)."""


REVIEW_FILTERS = ("pending", "reviewed", "rejected")
ASSIST_FILTERS = {"server": "done", "failed": "failed"}
"""``ImageFilter.assist`` values and the label-assist state each selects."""


def get_image(session: Session, project: Project, image_id: str) -> Image:
    """One image of ``project`` (`NotFound` ``image_not_found`` for an id of another project)."""
    image = session.scalar(select(Image).where(Image.id == image_id, Image.project_id == project.id))
    if image is None:
        raise NotFound("image_not_found", f"no image {image_id!r} in project {project.slug!r}")
    return image


def load_image(db: Database, project: Project, image_id: str) -> Image:
    """`get_image` in a read transaction of its own (for a route that needs only the row)."""
    with db.reading() as session:
        return get_image(session, project, image_id)


def image_feedback(session: Session, image: Image) -> list[Report]:
    """The feedback reports about ``image``, oldest first (their suggested boxes show on the review
    page). The order is said: PostgreSQL, unlike SQLite, does not return rows in insertion order."""
    query = select(Report).where(Report.image_id == image.id, Report.kind == "feedback")
    return list(session.scalars(query.order_by(Report.created_at, Report.id)))


def filtered_query(project: Project, f: ImageFilter) -> Select[Image]:
    """The images of ``project`` that match ``f`` (unordered)."""
    query = select(Image).where(Image.project_id == project.id)
    if f.split is not None:
        query = query.where(Image.split == f.split)
    if f.sampling_rule is not None:
        query = query.where(Image.sampling_rule == f.sampling_rule)
    if f.device_id is not None:
        query = query.where(Image.device_id == f.device_id)
    if f.model_version is not None:
        query = query.where(Image.model_version == f.model_version)
    if f.batch is not None:
        query = query.where(
            Image.batch_id.in_(select(Batch.id).where(Batch.project_id == project.id, Batch.name == f.batch))
        )
    if f.tag is not None:
        query = query.where(exists().where(ImageTag.image_id == Image.id, ImageTag.name == f.tag))
    if f.review_status is not None:
        if f.review_status not in REVIEW_FILTERS:
            raise Invalid(
                "invalid_status",
                f"status must be one of {', '.join(REVIEW_FILTERS)}; got {f.review_status!r}",
            )
        query = query.where(
            Image.review_status.is_(None)
            if f.review_status == "pending"
            else Image.review_status == f.review_status
        )
    if f.labelled is not None:
        labelled = exists().where(Annotation.image_id == Image.id, Annotation.kind == GROUND_TRUTH)
        query = query.where(labelled if f.labelled else ~labelled)
    if f.min_confidence is not None or f.max_confidence is not None:
        conds = [Annotation.image_id == Image.id, Annotation.kind == PREDICTION]
        if f.min_confidence is not None:
            conds.append(Annotation.confidence >= f.min_confidence)
        if f.max_confidence is not None:
            conds.append(Annotation.confidence <= f.max_confidence)
        query = query.where(exists().where(and_(*conds)))
    if f.assist is not None:
        state = ASSIST_FILTERS.get(f.assist)
        if state is None:
            raise Invalid(
                "invalid_assist", f"assist must be one of {', '.join(ASSIST_FILTERS)}; got {f.assist!r}"
            )
        query = query.where(exists().where(LabelAssist.image_id == Image.id, LabelAssist.state == state))
    return query


def query_images(
    session: Session, project: Project, f: ImageFilter, *, limit: int = 100, offset: int = 0
) -> tuple[list[Image], int]:
    """A page of images matching ``f`` (newest first) and the total count."""
    query = filtered_query(project, f)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Image.created_at.desc(), Image.id).limit(limit).offset(offset))
    return list(rows), int(total)


def count_images(session: Session, project: Project) -> dict[str, int]:
    """Counts for Roboflow's project summary: total, per split, unannotated."""
    total = session.scalar(select(func.count()).where(Image.project_id == project.id)) or 0
    splits = dict(
        session.execute(
            select(Image.split, func.count()).where(Image.project_id == project.id).group_by(Image.split)
        ).all()
    )
    labelled = exists().where(Annotation.image_id == Image.id, Annotation.kind == GROUND_TRUTH)
    unannotated = session.scalar(select(func.count()).where(Image.project_id == project.id, ~labelled)) or 0
    return {
        "total": int(total),
        "train": int(splits.get("train", 0)),
        "valid": int(splits.get("valid", 0)),
        "test": int(splits.get("test", 0)),
        "unannotated": int(unannotated),
    }


def list_batches(session: Session, project: Project) -> list[tuple[Batch, int]]:
    rows = session.execute(
        select(Batch, func.count(Image.id))
        .outerjoin(Image, Image.batch_id == Batch.id)
        .where(Batch.project_id == project.id)
        .group_by(Batch.id)
        .order_by(Batch.created_at)
    ).all()
    return [(b, int(n)) for b, n in rows]


@dataclass
class FilterChoices:
    """The values each filter can take in this project (for the filter form's drop-downs)."""

    rules: list[str]
    tags: list[str]
    batches: list[str]
    model_versions: list[str]
    devices: list[str]


def filter_choices(session: Session, project: Project) -> FilterChoices:
    """The sampling rules, tags (at most 500), batches, model versions and devices present in ``project``."""
    tags = session.scalars(
        select(ImageTag.name)
        .join(Image, Image.id == ImageTag.image_id)
        .where(Image.project_id == project.id)
        .distinct()
        .order_by(ImageTag.name)
        .limit(500)
    ).all()
    batches = session.scalars(select(Batch.name).where(Batch.project_id == project.id).order_by(Batch.name))
    return FilterChoices(
        _distinct_values(session, project, Image.sampling_rule),
        list(tags),
        list(batches),
        _distinct_values(session, project, Image.model_version),
        _distinct_values(session, project, Image.device_id),
    )


def _distinct_values(
    session: Session, project: Project, column: InstrumentedAttribute[str | None]
) -> list[str]:
    """The non-empty values of an image column in ``project``, sorted."""
    values = session.scalars(
        select(column).where(Image.project_id == project.id, column.is_not(None)).distinct().order_by(column)
    )
    return [v for v in values if v]
