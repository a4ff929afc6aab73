"""Feedback and bug reports from the team's own apps (the guide's third approach).

An app posts a verdict on a prediction (correct / wrong / missing object, optional corrected boxes,
free text) or a bug report ("the model detects nothing", "the app crashed"), with an image already
on the server (``image_id``) or a new one (``file``). Both land in the project's review queue: the
image is tagged ``feedback-*`` / ``bug-*`` and the report is listed under ``/reports``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from pydantic import BaseModel
from sqlalchemy import Connection

from framescout.predictions.box import boxes_from_predictions
from framescout.server.deps import PathProject, SettingsDep, StoreDep
from framescout.server.settings import Settings
from framescout.server.uploads import ingest_limits, parse_predictions, read_file
from framescout.store import Store
from framescout.store.errors import Invalid
from framescout.store.ingest import ImageFields, PreparedImage, prepare_image, store_prepared
from framescout.store.models import Project, Report
from framescout.store.reports import (
    SEVERITIES,
    VERDICTS,
    BugReportIn,
    check_bug_report,
    check_corrected,
    check_feedback,
    get_report,
    list_reports,
    write_bug_report,
    write_feedback,
)
from framescout.store.validation import MAX_SQL_INT, parse_metadata

router = APIRouter(prefix="/api/v1/projects/{workspace}/{project}", tags=["feedback"])


class ReportOut(BaseModel):
    id: str
    kind: Literal["feedback", "bug"]
    image_id: str | None
    verdict: str | None
    severity: str | None
    prediction_index: int | None
    description: str
    corrected: list[dict[str, Any]]
    app_version: str | None
    metadata: dict[str, Any]
    status: str
    created_at: datetime

    @classmethod
    def of(cls, r: Report) -> ReportOut:
        return cls(
            id=r.id,
            kind=r.kind,  # type: ignore[arg-type]  # "feedback" or "bug", as written by store.reports
            image_id=r.image_id,
            verdict=r.verdict,
            severity=r.severity,
            prediction_index=r.prediction_index,
            description=r.description,
            corrected=r.corrected,
            app_version=r.app_version,
            metadata=r.metadata_,
            status=r.status,
            created_at=r.created_at,
        )


class ReportList(BaseModel):
    reports: list[ReportOut]
    total: int


def _with_new_image(
    store: Store,
    settings: Settings,
    project: Project,
    file: UploadFile,
    fields: ImageFields,
    write: Callable[[Connection, str], str],
    check: Callable[[PreparedImage], object] | None = None,
) -> str:
    """The upload pipeline with the report attached: validate the image and its fields (``check``
    sees the prepared image), then store image and report in one transaction; return the report id."""
    data = read_file(file, settings.max_upload_bytes)
    prepared = prepare_image(project, data, fields, limits=ingest_limits(settings))
    if check is not None:
        check(prepared)
    written: list[str] = []

    def attach(conn: Connection, image_id: str, _duplicate: bool) -> None:
        written.append(write(conn, image_id))

    store_prepared(store.db, store.blobs, project, prepared, attach=attach)
    return written[-1]


def _saved(store: Store, report_id: str) -> ReportOut:
    with store.db.reading() as session:
        return ReportOut.of(get_report(session, report_id))


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
    comment: Annotated[str | None, Form()] = None,
    app_version: Annotated[str | None, Form()] = None,
    metadata: Annotated[str | None, Form(description="App/device metadata, a JSON object.")] = None,
    model_version: Annotated[str | None, Form()] = None,
) -> ReportOut:
    """Record feedback; the image is tagged for review. Everything is validated before anything is
    stored, and a new image and its report are stored together: a refused report stores nothing.
    Corrected boxes with new class names teach them to a project that learns classes; a project
    with a fixed class list answers 422 ``unknown_class`` with its valid classes."""
    if (image_id is None) == (file is None):
        raise Invalid("missing_image", "send exactly one of 'image_id' (an image on the server) or 'file'")
    suggested = parse_predictions(corrected, "corrected", default_confidence=1.0)
    report = check_feedback(
        verdict=verdict,
        prediction_index=prediction,
        corrected=[] if suggested is None else boxes_from_predictions(suggested),
        comment=comment,
        app_version=app_version,
        metadata=parse_metadata(metadata),
    )
    if file is None:
        assert image_id is not None
        with store.db.write_engine.begin() as conn:
            report_id = write_feedback(conn, project, image_id, report, class_limits=settings.class_limits)
        return _saved(store, report_id)
    pre = parse_predictions(predictions)
    if report.prediction_index is not None and not report.prediction_index < (0 if pre is None else len(pre)):
        raise Invalid(
            "unknown_prediction", f"prediction {report.prediction_index} is not among the predictions sent"
        )
    fields = ImageFields(
        name=file.filename,
        tags=["feedback"],
        predictions=pre,
        model_version=model_version,
        metadata={"source": "feedback"},
    )
    report_id = _with_new_image(
        store,
        settings,
        project,
        file,
        fields,
        write=lambda conn, new_id: write_feedback(
            conn, project, new_id, report, class_limits=settings.class_limits
        ),
        check=lambda prepared: check_corrected(
            report,
            project,
            prepared.info.width,
            prepared.info.height,
            class_limits=settings.class_limits,
            also_new=[b.class_name for b in prepared.boxes],
        ),
    )
    return _saved(store, report_id)


@router.post("/bug-reports", response_model=ReportOut, status_code=201, summary="A bug report from an app")
def bug_report(
    project: PathProject,
    store: StoreDep,
    settings: SettingsDep,
    description: Annotated[str, Form(description="What went wrong.")],
    severity: Annotated[str, Form(description=f"One of {', '.join(SEVERITIES)}.")],
    image_id: Annotated[str | None, Form()] = None,
    file: Annotated[UploadFile | None, File(description="A screenshot or camera frame, optional.")] = None,
    app_version: Annotated[str | None, Form()] = None,
    metadata: Annotated[str | None, Form(description="App/device metadata, a JSON object.")] = None,
) -> ReportOut:
    """Record a bug report, with its image when there is one (validated first, stored together)."""
    if image_id is not None and file is not None:
        raise Invalid("two_images", "send 'image_id' or 'file', not both")
    report: BugReportIn = check_bug_report(
        severity=severity, description=description, app_version=app_version, metadata=parse_metadata(metadata)
    )
    if file is None:
        with store.db.write_engine.begin() as conn:
            report_id = write_bug_report(conn, project, image_id, report)
        return _saved(store, report_id)
    fields = ImageFields(name=file.filename, tags=["bug-report"], metadata={"source": "bug-report"})
    report_id = _with_new_image(
        store,
        settings,
        project,
        file,
        fields,
        write=lambda conn, new_id: write_bug_report(conn, project, new_id, report),
    )
    return _saved(store, report_id)


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
