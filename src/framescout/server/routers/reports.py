"""Feedback and bug reports from the team's own apps (the guide's third approach).

An app posts a verdict on a prediction (correct / wrong / missing object, optional corrected boxes,
free text) or a bug report ("the model detects nothing", "the app crashed"), with an image already
on the server (``image_id``) or a new one (``file``). Both land in the project's review queue: the
image is tagged ``feedback-*`` / ``bug-*`` and the report is listed under ``/reports``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from pydantic import BaseModel

from framescout.imaging import ImageError, decode_image
from framescout.server.deps import PathProject, SettingsDep, StoreDep
from framescout.server.uploads import parse_predictions, read_file
from framescout.store.errors import Invalid
from framescout.store.images import (
    Box,
    ImageFields,
    boxes_from_predictions,
    check_boxes,
    image_error,
    ingest_image,
)
from framescout.store.images import parse_metadata as parse_json_object
from framescout.store.models import Project, Report
from framescout.store.reports import (
    SEVERITIES,
    VERDICTS,
    add_bug_report,
    add_feedback,
    image_in_project,
    list_reports,
)

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


def _image_bytes(file: UploadFile, max_bytes: int, max_pixels: int) -> tuple[bytes, int, int]:
    """The new image's bytes and size, validated before anything is stored."""
    data = read_file(file, max_bytes)
    try:
        decoded = decode_image(data, max_pixels=max_pixels, max_bytes=max_bytes)
    except ImageError as exc:
        raise image_error(exc) from None
    return data, decoded.size[0], decoded.size[1]


def _corrected(text: str | None, project: Project, width: int, height: int) -> list[Box]:
    """A user's corrected boxes (Roboflow JSON; ``confidence`` optional: a person drew them)."""
    if not text:
        return []
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid("malformed_json", f"corrected is not valid JSON: {exc}") from None
    items = payload.get("predictions") if isinstance(payload, dict) else payload
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict):
                item.setdefault("confidence", 1.0)
    predictions = parse_predictions(json.dumps(payload))
    if predictions is None:
        return []
    return check_boxes(boxes_from_predictions(predictions), width, height, project, learn=False)


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
        str | None, Form(description="Corrected boxes (Roboflow JSON), a suggestion.")
    ] = None,
    comment: Annotated[str | None, Form()] = None,
    app_version: Annotated[str | None, Form()] = None,
    metadata: Annotated[str | None, Form(description="App/device metadata, a JSON object.")] = None,
    model_version: Annotated[str | None, Form()] = None,
) -> ReportOut:
    """Record feedback; the image is tagged for review. Bad input stores nothing."""
    if verdict not in VERDICTS:
        raise Invalid("invalid_verdict", f"verdict must be one of {', '.join(VERDICTS)}; got {verdict!r}")
    if (image_id is None) == (file is None):
        raise Invalid("missing_image", "send exactly one of 'image_id' (an image on the server) or 'file'")
    meta = parse_json_object(metadata)
    new_image: tuple[bytes, int, int] | None = None
    if file is not None:
        new_image = _image_bytes(file, settings.max_upload_bytes, settings.max_pixels)
        pre = parse_predictions(predictions)
        if prediction is not None and not 0 <= prediction < (0 if pre is None else len(pre)):
            raise Invalid("unknown_prediction", f"prediction {prediction} is not among the predictions sent")
        boxes = _corrected(corrected, project, new_image[1], new_image[2])
        result = ingest_image(
            store.db,
            store.blobs,
            project,
            new_image[0],
            ImageFields(
                name=file.filename,
                tags=["feedback"],
                predictions=pre,
                model_version=model_version,
                metadata={"source": "feedback"},
            ),
            max_pixels=settings.max_pixels,
            max_bytes=settings.max_upload_bytes,
        )
        image_id = result.id
    assert image_id is not None
    with store.db.writing() as session:
        image = image_in_project(session, project, image_id)
        if new_image is None:
            boxes = _corrected(corrected, project, image.width, image.height)
        report = add_feedback(
            session,
            project,
            image,
            verdict=verdict,
            prediction_index=prediction,
            corrected=boxes,
            comment=comment,
            app_version=app_version,
            metadata=meta,
        )
        session.flush()
        return ReportOut.of(report)


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
    """Record a bug report, with its image when there is one."""
    if severity not in SEVERITIES:
        raise Invalid(
            "invalid_severity", f"severity must be one of {', '.join(SEVERITIES)}; got {severity!r}"
        )
    if not description.strip():
        raise Invalid("missing_description", "a bug report needs a description")
    if image_id is not None and file is not None:
        raise Invalid("two_images", "send 'image_id' or 'file', not both")
    meta = parse_json_object(metadata)
    if file is not None:
        data, _, _ = _image_bytes(file, settings.max_upload_bytes, settings.max_pixels)
        image_id = ingest_image(
            store.db,
            store.blobs,
            project,
            data,
            ImageFields(name=file.filename, tags=["bug-report"], metadata={"source": "bug-report"}),
            max_pixels=settings.max_pixels,
            max_bytes=settings.max_upload_bytes,
        ).id
    with store.db.writing() as session:
        image = None if image_id is None else image_in_project(session, project, image_id)
        report = add_bug_report(
            session,
            project,
            image,
            severity=severity,
            description=description,
            app_version=app_version,
            metadata=meta,
        )
        session.flush()
        return ReportOut.of(report)


@router.get("/reports", response_model=ReportList, summary="Feedback and bug reports, newest first")
def reports(
    project: PathProject,
    store: StoreDep,
    kind: Annotated[Literal["feedback", "bug"] | None, Query()] = None,
    status: Annotated[Literal["open", "resolved"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ReportList:
    with store.db.reading() as session:
        rows, total = list_reports(session, project, kind=kind, status=status, limit=limit, offset=offset)
        return ReportList(reports=[ReportOut.of(r) for r in rows], total=total)
