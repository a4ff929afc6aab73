"""End users' feedback on predictions and bug reports: validated once, then stored with their image.

`check_feedback` and `check_bug_report` check every field that needs no image. A report about an
image already stored is then checked against it and written in one transaction (`add_report`); a
report that brings its image goes through the upload pipeline (`store.ingest.ingest_image`) as a
`PendingReport`: its ``check`` sees the prepared upload, its ``attach`` writes the report inside the
image's own transaction, so a refusal at any step leaves neither the report nor the image behind.

Corrected boxes are the stored `Box` and pass the store's own box checks; they follow the project's
class policy: a project that learns classes learns the corrections' new classes too (within its class
caps, in the same transaction); a project with a fixed class list refuses others with 422
``unknown_class`` naming the valid classes."""

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
from framescout.store.ingest import PreparedImage
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
_IMAGE_TAGS = Base.metadata.tables["image_tags"]
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


ReportIn = FeedbackIn | BugReportIn


def check_prediction_sent(report: FeedbackIn, sent: int) -> None:
    """For feedback that brings its image: the prediction judged is among the ``sent`` predictions."""
    index = report.prediction_index
    if index is not None and not index < sent:
        raise Invalid("unknown_prediction", f"prediction {index} is not among the predictions sent")


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


class PendingReport:
    """A checked report on its way into the store: `check` validates it against its image once (the
    corrected boxes against its size), `write` adds it in the caller's write transaction. Used as
    the ingest's ``check`` (`check_prepared`) and ``attach`` hooks for a report with a new image."""

    def __init__(self, project: Project, report: ReportIn, *, class_limits: ClassLimits) -> None:
        self.project = project
        self.report = report
        self.class_limits = class_limits
        self.corrected: list[Box] = []
        self.id: str | None = None
        """The report's id, once written."""

    def use_project(self, project: Project) -> None:
        """Check against ``project`` from now on (the same project, read fresh)."""
        self.project = project

    def check(self, width: int, height: int, also_new: Sequence[str] = ()) -> None:
        """The corrected boxes through the store's box checks (count, geometry, classes) against the
        image's size: a fixed class list refuses other names (the message lists the valid ones); a
        learning project accepts new names within the class caps (counted together with
        ``also_new``, the classes the request's predictions bring)."""
        if not isinstance(self.report, FeedbackIn) or not self.report.corrected:
            return
        project = self.project
        self.corrected = check_boxes(
            self.report.corrected, width, height, project, learn=True, unknown_error=unknown_correction_class
        )
        if not project.strict_classes:  # early refusal, re-checked on write
            new_classes(
                project.classes, [*also_new, *(b.class_name for b in self.corrected)], self.class_limits
            )

    def check_prepared(self, prepared: PreparedImage) -> None:
        """`check` against an upload's header; its predictions' new classes count in the class caps."""
        self.check(prepared.info.width, prepared.info.height, [b.class_name for b in prepared.boxes])

    def check_stored(self, conn: Connection, image_id: str) -> None:
        """Against an image stored before this request: the prediction judged is one of its own."""
        if not isinstance(self.report, FeedbackIn) or self.report.prediction_index is None:
            return
        index = self.report.prediction_index
        count = conn.execute(
            select(func.count())
            .select_from(_ANNOTATIONS)
            .where(_ANNOTATIONS.c.image_id == image_id, _ANNOTATIONS.c.kind == PREDICTION)
        ).scalar()
        if not index < (count or 0):
            raise NotFound(
                "unknown_prediction",
                f"image {image_id} has {count or 0} prediction(s); prediction {index} does not exist",
            )

    def attach(self, conn: Connection, image_id: str, duplicate: bool) -> None:
        """The ingest's ``attach``: a duplicate is an image stored before, its predictions count."""
        if duplicate:
            self.check_stored(conn, image_id)
        self.write(conn, image_id)

    def write(self, conn: Connection, image_id: str | None) -> str:
        """Add the report, tag its image (and, for a learning project, add the corrections' new
        classes) in the caller's write transaction; return the report id."""
        report = self.report
        if isinstance(report, FeedbackIn):
            if self.corrected:
                names = [b.class_name for b in self.corrected]
                learn_new_classes(conn, self.project, names, self.class_limits)
            kind, label = "feedback", report.verdict
            values: dict[str, Any] = {
                "verdict": report.verdict,
                "prediction_index": report.prediction_index,
                "description": report.comment,
                "corrected": [b.to_wire() for b in self.corrected],
            }
        else:
            kind, label = "bug", report.severity
            values = {"severity": report.severity, "description": report.description, "corrected": []}
        self.id = new_id()
        conn.execute(
            insert(_REPORTS).values(
                id=self.id,
                project_id=self.project.id,
                image_id=image_id,
                kind=kind,
                app_version=report.app_version,
                metadata=report.metadata,
                status="open",
                created_at=utcnow(),
                **values,
            )
        )
        if image_id is not None:
            tag, prefix = _TAGS[kind]
            _tag(conn, image_id, [tag, f"{prefix}-{label.replace('_', '-')}"])
        return self.id


_TAGS = {"feedback": ("feedback", "feedback"), "bug": ("bug-report", "bug")}
"""The tags of an image a report is about: ``feedback`` and ``feedback-<verdict>``, ``bug-report``
and ``bug-<severity>``."""


def add_report(
    conn: Connection,
    project: Project,
    image_id: str | None,
    report: ReportIn,
    *,
    class_limits: ClassLimits = DEFAULT_CLASS_LIMITS,
) -> str:
    """A report about an image already stored in ``project`` (or, a bug report, about none): checked
    against it and written in the caller's write transaction; return the report id."""
    pending = PendingReport(project, report, class_limits=class_limits)
    if image_id is not None:
        width, height = _image_size(conn, project, image_id)
        pending.check_stored(conn, image_id)
        pending.check(width, height)
    return pending.write(conn, image_id)


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
    have = set(conn.execute(select(_IMAGE_TAGS.c.name).where(_IMAGE_TAGS.c.image_id == image_id)).scalars())
    new = [t for t in check_tags(tags) if t not in have]
    if new:
        conn.execute(insert(_IMAGE_TAGS), [{"image_id": image_id, "name": t} for t in new])


def get_report(session: Session, project: Project, report_id: str) -> Report:
    """The report ``report_id`` of ``project`` (404 ``report_not_found`` for another project's)."""
    report = session.get(Report, report_id)
    if report is None or report.project_id != project.id:
        raise NotFound("report_not_found", f"no report {report_id!r} in project {project.slug!r}")
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
    # newest first, the id breaking ties: pages of one order, so none repeats or skips a report
    rows = session.scalars(query.order_by(Report.created_at.desc(), Report.id).limit(limit).offset(offset))
    return list(rows), int(total)


def set_report_status(session: Session, project: Project, report_id: str, status: str) -> Report:
    """Resolve or reopen a report of ``project``."""
    if status not in STATUSES:
        raise Invalid("invalid_status", f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    report = get_report(session, project, report_id)
    report.status = status
    return report
