"""End users' feedback on predictions and bug reports: validation and storage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from framescout.store.errors import Invalid, NotFound
from framescout.store.images import Box, check_boxes, check_tags, check_text
from framescout.store.models import PREDICTION, Annotation, Image, ImageTag, Project, Report

VERDICTS = ("correct", "wrong", "missing_object")
SEVERITIES = ("no_detections", "wrong_detections", "crash", "slow", "other")
STATUSES = ("open", "resolved")


def image_in_project(session: Session, project: Project, image_id: str) -> Image:
    image = session.get(Image, image_id)
    if image is None or image.project_id != project.id:
        raise NotFound("image_not_found", f"no image {image_id!r} in project {project.slug!r}")
    return image


def tag_image(session: Session, image: Image, tags: Sequence[str]) -> None:
    """Add tags to an image (existing tags are kept)."""
    have = {t.name for t in image.tags}
    for tag in check_tags(tags):
        if tag not in have:
            session.add(ImageTag(image_id=image.id, name=tag))


def add_feedback(
    session: Session,
    project: Project,
    image: Image,
    *,
    verdict: str,
    prediction_index: int | None,
    corrected: Sequence[Box],
    comment: str | None,
    app_version: str | None,
    metadata: dict[str, Any],
) -> Report:
    """Record a verdict on one of ``image``'s predictions (or on the image as a whole)."""
    if verdict not in VERDICTS:
        raise Invalid("invalid_verdict", f"verdict must be one of {', '.join(VERDICTS)}; got {verdict!r}")
    if prediction_index is not None:
        count = session.scalar(
            select(func.count())
            .select_from(Annotation)
            .where(Annotation.image_id == image.id, Annotation.kind == PREDICTION)
        )
        if not 0 <= prediction_index < (count or 0):
            raise NotFound(
                "unknown_prediction",
                f"image {image.id} has {count or 0} prediction(s); "
                f"prediction {prediction_index} does not exist",
            )
    elif verdict == "wrong":
        raise Invalid("missing_prediction", "a 'wrong' verdict needs the prediction it is about (prediction)")
    boxes = check_boxes(corrected, image.width, image.height, project, learn=False) if corrected else []
    report = Report(
        project_id=project.id,
        image_id=image.id,
        kind="feedback",
        verdict=verdict,
        prediction_index=prediction_index,
        description=check_text(comment, "comment", 4000) or "",
        corrected=[
            {"class": b.class_name, "x_min": b.x_min, "y_min": b.y_min, "x_max": b.x_max, "y_max": b.y_max}
            for b in boxes
        ],
        app_version=check_text(app_version, "app_version", 200),
        metadata_=metadata,
    )
    session.add(report)
    tag_image(session, image, ["feedback", f"feedback-{verdict.replace('_', '-')}"])
    return report


def add_bug_report(
    session: Session,
    project: Project,
    image: Image | None,
    *,
    severity: str,
    description: str,
    app_version: str | None,
    metadata: dict[str, Any],
) -> Report:
    """Record a bug report ("the model detects nothing", "the app crashed"), with its image if any."""
    if severity not in SEVERITIES:
        raise Invalid(
            "invalid_severity", f"severity must be one of {', '.join(SEVERITIES)}; got {severity!r}"
        )
    text = check_text(description, "description", 4000)
    if not text or not text.strip():
        raise Invalid("missing_description", "a bug report needs a description")
    report = Report(
        project_id=project.id,
        image_id=None if image is None else image.id,
        kind="bug",
        severity=severity,
        description=text,
        app_version=check_text(app_version, "app_version", 200),
        metadata_=metadata,
    )
    session.add(report)
    if image is not None:
        tag_image(session, image, ["bug-report", f"bug-{severity.replace('_', '-')}"])
    return report


def list_reports(
    session: Session,
    project: Project,
    *,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Report], int]:
    query = select(Report).where(Report.project_id == project.id)
    if kind:
        query = query.where(Report.kind == kind)
    if status:
        query = query.where(Report.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Report.created_at.desc()).limit(limit).offset(offset))
    return list(rows), int(total)


def set_report_status(session: Session, project: Project, report_id: str, status: str) -> Report:
    """Resolve or reopen a report of ``project``."""
    if status not in STATUSES:
        raise Invalid("invalid_status", f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    report = session.get(Report, report_id)
    if report is None or report.project_id != project.id:
        raise NotFound("report_not_found", f"no report {report_id!r} in project {project.slug!r}")
    report.status = status
    return report
