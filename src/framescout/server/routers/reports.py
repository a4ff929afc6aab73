"""Feedback and bug reports from the team's own apps (the guide's third approach).

An app posts a verdict on a prediction (correct / wrong / missing object, optional corrected boxes,
free text) or a bug report ("the model detects nothing", "the app crashed"), with an image already
on the server (``image_id``) or a new one (``file``). Both land in the project's review queue: the
image is tagged ``feedback-*`` / ``bug-*`` and the report is listed under ``/reports``.

This module only parses the form: the report is checked by `framescout.store.reports`, and a report
with a ``file`` goes through the upload pipeline (`framescout.server.uploads.ingest`) with the report
as the ingest's ``check`` and ``attach`` hooks, so the image is decoded and validated once and the
report is written in the image's own transaction."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile

from framescout.predictions import Predictions
from framescout.predictions.box import Box, boxes_from_predictions
from framescout.server.deps import PathProject, SettingsDep, StoreDep
from framescout.server.schemas import ReportList, ReportOut
from framescout.server.settings import Settings
from framescout.server.uploads import ingest, parse_predictions
from framescout.store import Store
from framescout.store.errors import Invalid
from framescout.store.ingest import ImageFields
from framescout.store.models import Project
from framescout.store.reports import (
    SEVERITIES,
    VERDICTS,
    PendingReport,
    ReportIn,
    add_report,
    check_bug_report,
    check_feedback,
    check_prediction_sent,
    get_report,
    list_reports,
)
from framescout.store.validation import MAX_SQL_INT, parse_metadata

router = APIRouter(prefix="/api/v1/projects/{workspace}/{project}", tags=["feedback"])

OptionalText = Annotated[str | None, Form()]
MetadataText = Annotated[str | None, Form(description="App/device metadata, a JSON object.")]


def _boxes(predictions: Predictions | None) -> list[Box]:
    """Corrected boxes as the stored `Box` (the conversion at this edge)."""
    return [] if predictions is None else boxes_from_predictions(predictions)


def _record(
    store: Store,
    settings: Settings,
    project: Project,
    report: ReportIn,
    *,
    image_id: str | None = None,
    file: UploadFile | None = None,
    fields: ImageFields | None = None,
) -> ReportOut:
    """Store the report: about ``image_id`` (or no image) in one transaction, or with the new image
    ``file`` through the upload pipeline (checked against the image, written in its transaction)."""
    if file is None:
        with store.db.write_engine.begin() as conn:
            report_id = add_report(conn, project, image_id, report, class_limits=settings.class_limits)
    else:
        assert fields is not None
        pending = PendingReport(project, report, class_limits=settings.class_limits)
        ingest(
            store,
            settings,
            project,
            fields,
            file=file,
            check=pending.check_prepared,
            attach=pending.attach,
            refreshed=pending.use_project,
        )
        assert pending.id is not None  # attach ran: the image was stored or known
        report_id = pending.id
    with store.db.reading() as session:
        return ReportOut.of(get_report(session, project, report_id))


@router.post(
    "/feedback", response_model=ReportOut, status_code=201, summary="A user's verdict on a prediction"
)
def feedback(
    project: PathProject,
    store: StoreDep,
    settings: SettingsDep,
    verdict: Annotated[str, Form(description=f"One of {', '.join(VERDICTS)}.")],
    image_id: Annotated[str | None, Form(description="An image already on the server.")] = None,
    file: Annotated[
        UploadFile | None, File(description="Or the image itself, uploaded with the report.")
    ] = None,
    predictions: Annotated[
        str | None, Form(description="With `file`: the model's predictions on it (Roboflow JSON).")
    ] = None,
    prediction: Annotated[int | None, Form(description="Index of the prediction judged (0-based).")] = None,
    corrected: Annotated[
        str | None, Form(description="Corrected boxes (Roboflow JSON; `confidence` optional), a suggestion.")
    ] = None,
    comment: OptionalText = None,
    app_version: OptionalText = None,
    metadata: MetadataText = None,
    model_version: OptionalText = None,
) -> ReportOut:
    """Record feedback; the image is tagged for review. Everything is validated before anything is
    stored, and a new image and its report are stored together: a refused report stores nothing.
    Corrected boxes with new class names teach them to a project that learns classes; a project
    with a fixed class list answers 422 ``unknown_class`` with its valid classes."""
    if (image_id is None) == (file is None):
        raise Invalid("missing_image", "send exactly one of 'image_id' (an image on the server) or 'file'")
    report = check_feedback(
        verdict=verdict,
        prediction_index=prediction,
        corrected=_boxes(parse_predictions(corrected, "corrected", default_confidence=1.0)),
        comment=comment,
        app_version=app_version,
        metadata=parse_metadata(metadata),
    )
    if file is None:
        return _record(store, settings, project, report, image_id=image_id)
    pre = parse_predictions(predictions)
    check_prediction_sent(report, 0 if pre is None else len(pre))
    fields = ImageFields(
        tags=["feedback"], predictions=pre, model_version=model_version, metadata={"source": "feedback"}
    )
    return _record(store, settings, project, report, file=file, fields=fields)


@router.post("/bug-reports", response_model=ReportOut, status_code=201, summary="A bug report from an app")
def bug_report(
    project: PathProject,
    store: StoreDep,
    settings: SettingsDep,
    description: Annotated[str, Form(description="What went wrong.")],
    severity: Annotated[str, Form(description=f"One of {', '.join(SEVERITIES)}.")],
    image_id: OptionalText = None,
    file: Annotated[UploadFile | None, File(description="A screenshot or camera frame, optional.")] = None,
    app_version: OptionalText = None,
    metadata: MetadataText = None,
) -> ReportOut:
    """Record a bug report, with its image when there is one (validated first, stored together)."""
    if image_id is not None and file is not None:
        raise Invalid("two_images", "send 'image_id' or 'file', not both")
    report = check_bug_report(
        severity=severity, description=description, app_version=app_version, metadata=parse_metadata(metadata)
    )
    fields = ImageFields(tags=["bug-report"], metadata={"source": "bug-report"})
    return _record(store, settings, project, report, image_id=image_id, file=file, fields=fields)


@router.get("/reports", response_model=ReportList, summary="Feedback and bug reports, newest first")
def reports(
    project: PathProject,
    store: StoreDep,
    kind: Annotated[Literal["feedback", "bug"] | None, Query()] = None,
    status: Annotated[Literal["open", "resolved"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> ReportList:
    with store.db.reading() as session:
        rows, total = list_reports(session, project, kind=kind, status=status, limit=limit, offset=offset)
        return ReportList(reports=[ReportOut.of(r) for r in rows], total=total)
