"""Counts the review UI and the Roboflow-compatible project object show: per project, per image of
a page, per class."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from framescout.store.accounts import list_model_versions
from framescout.store.models import (
    GROUND_TRUTH,
    PREDICTION,
    Annotation,
    Image,
    ModelVersion,
    Project,
    Report,
)
from framescout.store.queries import count_images


@dataclass(frozen=True)
class ProjectCounts:
    """A row of the project list: images, images waiting for review, open bug reports."""

    images: int = 0
    pending: int = 0
    bugs: int = 0


def project_counts(session: Session, projects: Sequence[Project]) -> dict[str, ProjectCounts]:
    """`ProjectCounts` by project id (three grouped queries, however many projects)."""
    ids = [p.id for p in projects]
    totals = _per_project(session, Image.project_id, Image.project_id.in_(ids))
    pending = _per_project(
        session, Image.project_id, Image.project_id.in_(ids), Image.review_status.is_(None)
    )
    bugs = _per_project(
        session, Report.project_id, Report.project_id.in_(ids), Report.kind == "bug", Report.status == "open"
    )
    return {i: ProjectCounts(totals.get(i, 0), pending.get(i, 0), bugs.get(i, 0)) for i in ids}


def _per_project(
    session: Session, project_id: InstrumentedAttribute[str], *where: ColumnElement[bool]
) -> dict[str, int]:
    rows = session.execute(select(project_id, func.count()).where(*where).group_by(project_id)).all()
    return {str(p): int(n) for p, n in rows}


@dataclass(frozen=True)
class ImageCounts:
    """A thumbnail card's figures: predictions, ground-truth boxes, the lowest prediction confidence."""

    predictions: int = 0
    boxes: int = 0
    lowest: float | None = None


def image_counts(session: Session, image_ids: Sequence[str]) -> dict[str, ImageCounts]:
    """`ImageCounts` by image id (images without annotations get zeros)."""
    per_kind = {
        (image_id, kind): int(n)
        for image_id, kind, n in session.execute(
            select(Annotation.image_id, Annotation.kind, func.count())
            .where(Annotation.image_id.in_(image_ids))
            .group_by(Annotation.image_id, Annotation.kind)
        ).all()
    }
    lowest = dict(
        session.execute(
            select(Annotation.image_id, func.min(Annotation.confidence))
            .where(Annotation.image_id.in_(image_ids), Annotation.kind == PREDICTION)
            .group_by(Annotation.image_id)
        ).all()
    )
    return {
        i: ImageCounts(per_kind.get((i, PREDICTION), 0), per_kind.get((i, GROUND_TRUTH), 0), lowest.get(i))
        for i in image_ids
    }


def class_counts(session: Session, project: Project) -> dict[str, int]:
    """Ground-truth boxes per class: every class of the project (0 when unused), then any other."""
    rows = session.execute(
        select(Annotation.class_name, func.count())
        .join(Image, Image.id == Annotation.image_id)
        .where(Image.project_id == project.id, Annotation.kind == GROUND_TRUTH)
        .group_by(Annotation.class_name)
    ).all()
    counts = {name: 0 for name in project.classes}
    counts.update({name: int(n) for name, n in rows})
    return counts


@dataclass(frozen=True)
class ProjectSummary:
    """What Roboflow's project object reports: image counts (`count_images`), ground-truth boxes
    per class (`class_counts`) and the registered model versions."""

    images: dict[str, int]
    classes: dict[str, int]
    versions: list[ModelVersion]


def project_summary(session: Session, project: Project) -> ProjectSummary:
    return ProjectSummary(
        count_images(session, project), class_counts(session, project), list_model_versions(session, project)
    )
