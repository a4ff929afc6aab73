"""End users' feedback on predictions and bug reports: validation first, then storage.

`check_feedback` and `check_bug_report` validate every field before anything is written. The
``write_*`` functions add the report inside a write transaction: the one that also stores a new
image when the report brings one (``store.ingest.ingest_image(..., attach=...)``), so a refusal at
any step leaves neither the report nor the image behind.

Corrected boxes follow the project's class policy: a project that learns classes learns the
corrections' new classes too (within its class caps, in the same transaction); a project with a
fixed class list refuses others with 422 ``unknown_class`` naming the valid classes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session

from framescout.predictions.box import Box
from framescout.store.accounts import DEFAULT_CLASS_LIMITS, ClassLimits, new_classes
from framescout.store.classes import learn_new_classes
from framescout.store.errors import Invalid, NotFound
from framescout.store.models import PREDICTION, Base, Project, Report, new_id, utcnow
from framescout.store.validation import check_boxes, check_tags, check_text

VERDICTS = ("correct", "wrong", "missing_object")
SEVERITIES = ("no_detections", "wrong_detections", "crash", "slow", "other")
STATUSES = ("open", "resolved")
MAX_DESCRIPTION = 4000
MAX_APP_VERSION = 200
SHOWN_CLASSES = 50
"""How many of a fixed class list a refused correction's error message names."""

_IMAGES = Base.metadata.tables["images"]
_TAGS = Base.metadata.tables["image_tags"]
_ANNOTATIONS = Base.metadata.tables["annotations"]
_REPORTS = Base.metadata.tables["reports"]


@dataclass(frozen=True)
class FeedbackIn:
    """A verdict on one of an image's predictions (or on the image), after `check_feedback`."""

    verdict: str
    prediction_index: int | None
    corrected: tuple[Box, ...]
    comment: str
    app_version: str | None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BugReportIn:
    """A bug report ("the model detects nothing", "the app crashed"), after `check_bug_report`."""

    severity: str
    description: str
    app_version: str | None
    metadata: dict[str, Any] = field(default_factory=dict)


def check_feedback(
    *,
    verdict: str,
    prediction_index: int | None,
    corrected: Sequence[Box],
    comment: str | None,
    app_version: str | None,
    metadata: dict[str, Any],
) -> FeedbackIn:
    """Every check that needs no image: verdict, prediction index, text lengths."""
    if verdict not in VERDICTS:
        raise Invalid("invalid_verdict", f"verdict must be one of {', '.join(VERDICTS)}; got {verdict!r}")
    if prediction_index is None and verdict == "wrong":
        raise Invalid("missing_prediction", "a 'wrong' verdict needs the prediction it is about (prediction)")
    if prediction_index is not None and prediction_index < 0:
        raise Invalid("unknown_prediction", f"prediction must be 0 or more; got {prediction_index}")
    return FeedbackIn(
        verdict=verdict,
        prediction_index=prediction_index,
        corrected=tuple(corrected),
        comment=check_text(comment, "comment", MAX_DESCRIPTION, multiline=True) or "",
        app_version=check_text(app_version, "app_version", MAX_APP_VERSION),
        metadata=metadata,
    )


def check_bug_report(
    *, severity: str, description: str, app_version: str | None, metadata: dict[str, Any]
) -> BugReportIn:
    """Every check of a bug report's fields."""
    if severity not in SEVERITIES:
        raise Invalid(
            "invalid_severity", f"severity must be one of {', '.join(SEVERITIES)}; got {severity!r}"
        )
    text = check_text(description, "description", MAX_DESCRIPTION, multiline=True)
    if not text or not text.strip():
        raise Invalid("missing_description", "a bug report needs a description")
    return BugReportIn(
        severity=severity,
        description=text,
        app_version=check_text(app_version, "app_version", MAX_APP_VERSION),
        metadata=metadata,
    )


def check_corrected(
    report: FeedbackIn,
    project: Project,
    width: int,
    height: int,
    *,
    class_limits: ClassLimits = DEFAULT_CLASS_LIMITS,
    also_new: Sequence[str] = (),
) -> list[Box]:
    """The corrected boxes against the image's size and the project's classes: a fixed class list
    refuses other names (the message lists the valid ones); a learning project accepts new names
    within ``class_limits`` (counted together with ``also_new``, the classes the request's
    predictions bring)."""
    if not report.corrected:
        return []
    names = [b.class_name for b in report.corrected]
    if project.strict_classes:
        known = set(project.classes)
        unknown = sorted({n for n in names if n not in known})
        if unknown:
            raise unknown_correction_class(unknown, project)
    boxes = check_boxes(report.corrected, width, height, project, learn=True)
    if not project.strict_classes:
        new_classes(project.classes, [*also_new, *names], class_limits)  # early refusal, re-checked on write
    return boxes


def unknown_correction_class(unknown: Sequence[str], project: Project) -> Invalid:
    """422 ``unknown_class`` for corrections on a fixed class list, naming the first valid classes."""
    classes = list(project.classes)
    shown = ", ".join(repr(n) for n in classes[:SHOWN_CLASSES])
    more = f" (the first {SHOWN_CLASSES} of {len(classes):,})" if len(classes) > SHOWN_CLASSES else ""
    return Invalid(
        "unknown_class",
        f"corrected: unknown class(es) {list(unknown)[:20]}; project {project.slug!r} has a fixed class "
        f"list, valid classes are [{shown}]{more}",
    )


def write_feedback(
    conn: Connection,
    project: Project,
    image_id: str,
    report: FeedbackIn,
    *,
    class_limits: ClassLimits = DEFAULT_CLASS_LIMITS,
) -> str:
    """Add the report and tag the image (and, for a learning project, add the corrections' new
    classes) in the caller's write transaction; return the report id."""
    width, height = _image_size(conn, project, image_id)
    if report.prediction_index is not None:
        count = conn.execute(
            select(func.count())
            .select_from(_ANNOTATIONS)
            .where(_ANNOTATIONS.c.image_id == image_id, _ANNOTATIONS.c.kind == PREDICTION)
        ).scalar()
        if not report.prediction_index < (count or 0):
            raise NotFound(
                "unknown_prediction",
                f"image {image_id} has {count or 0} prediction(s); "
                f"prediction {report.prediction_index} does not exist",
            )
    boxes = check_corrected(report, project, width, height, class_limits=class_limits)
    if boxes:
        learn_new_classes(conn, project, [b.class_name for b in boxes], class_limits)
    report_id = new_id()
    conn.execute(
        insert(_REPORTS).values(
            id=report_id,
            project_id=project.id,
            image_id=image_id,
            kind="feedback",
            verdict=report.verdict,
            prediction_index=report.prediction_index,
            description=report.comment,
            corrected=[
                {
                    "class": b.class_name,
                    "x_min": b.x_min,
                    "y_min": b.y_min,
                    "x_max": b.x_max,
                    "y_max": b.y_max,
                }
                for b in boxes
            ],
            app_version=report.app_version,
            metadata=report.metadata,
            status="open",
            created_at=utcnow(),
        )
    )
    _tag(conn, image_id, ["feedback", f"feedback-{report.verdict.replace('_', '-')}"])
    return report_id


def write_bug_report(conn: Connection, project: Project, image_id: str | None, report: BugReportIn) -> str:
    """Add the bug report (and tag its image, if any) in the caller's write transaction."""
    if image_id is not None:
        _image_size(conn, project, image_id)
    report_id = new_id()
    conn.execute(
        insert(_REPORTS).values(
            id=report_id,
            project_id=project.id,
            image_id=image_id,
            kind="bug",
            severity=report.severity,
            description=report.description,
            corrected=[],
            app_version=report.app_version,
            metadata=report.metadata,
            status="open",
            created_at=utcnow(),
        )
    )
    if image_id is not None:
        _tag(conn, image_id, ["bug-report", f"bug-{report.severity.replace('_', '-')}"])
    return report_id


def _image_size(conn: Connection, project: Project, image_id: str) -> tuple[int, int]:
    row = conn.execute(
        select(_IMAGES.c.width, _IMAGES.c.height).where(
            _IMAGES.c.id == image_id, _IMAGES.c.project_id == project.id
        )
    ).one_or_none()
    if row is None:
        raise NotFound("image_not_found", f"no image {image_id!r} in project {project.slug!r}")
    return int(row.width), int(row.height)


def _tag(conn: Connection, image_id: str, tags: Sequence[str]) -> None:
    """Add tags to an image (existing tags are kept)."""
    have = set(conn.execute(select(_TAGS.c.name).where(_TAGS.c.image_id == image_id)).scalars())
    new = [t for t in check_tags(tags) if t not in have]
    if new:
        conn.execute(insert(_TAGS), [{"image_id": image_id, "name": t} for t in new])


def get_report(session: Session, report_id: str) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("report_not_found", f"no report {report_id!r}")
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
