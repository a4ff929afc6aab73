"""Model rollout for devices: which model a device should run, and that model's file.

``GET …/deployment?labels=site=north,cam=3`` answers the newest deployment (`framescout models
deploy`) whose label selector the device's labels satisfy, with what a collector needs to fetch and
run it; ``GET …/models/{version}/file`` streams the file with its SHA-256 as entity tag and single
byte ranges, so an interrupted download resumes (``Range`` + ``If-Range``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from framescout.labels import MAX_QUERY, LabelError, parse_query
from framescout.server.deps import PathProject, PathWorkspace, StoreDep
from framescout.server.errors import error_response
from framescout.server.model_files import ModelFile, locate
from framescout.server.ranges import Unsatisfiable, etag_value, requested_range
from framescout.store import Store
from framescout.store.accounts import get_model_version
from framescout.store.deployments import deployment_for
from framescout.store.errors import Invalid
from framescout.store.models import ModelVersion
from framescout.store.validation import MAX_SQL_INT

router = APIRouter(prefix="/api/v1/projects", tags=["deployments"])


class DeploymentOut(BaseModel):
    deployment_id: int = Field(description="Grows with every deployment of the project.")
    version: int
    labels: dict[str, str] = Field(description="The deployment's label selector ({}: every device).")
    deployed_by: str
    deployed_at: datetime
    sha256: str = Field(description="Of the model file; also its download's ETag.")
    size: int = Field(description="The model file's length in bytes.")
    format: str | None = Field(description="The output layout (`framescout.models.FORMATS`).")
    class_names: list[str]
    download_url: str = Field(description="Path of the model file on this server (Range supported).")


def _model_file(store: Store, model: ModelVersion) -> ModelFile:
    return locate(store.models_dir, store.blobs if store.shared_blobs else None, model.onnx_sha256)


@router.get("/{workspace}/{project}/deployment", response_model=DeploymentOut)
def deployment(
    project: PathProject,
    workspace: PathWorkspace,
    store: StoreDep,
    labels: Annotated[
        str | None,
        Query(max_length=2 * MAX_QUERY, description="The device's labels: key=value,key=value."),
    ] = None,
) -> DeploymentOut:
    """The model a device with these labels should run (404 ``no_deployment`` when none is deployed)."""
    try:
        device = parse_query(labels)
    except LabelError as exc:
        raise Invalid(exc.code, f"labels: {exc.message}") from None
    with store.db.reading() as session:
        found = deployment_for(session, project, device)
    row, model = found.deployment, found.model
    file = _model_file(store, model)
    return DeploymentOut(
        deployment_id=row.id,
        version=row.version,
        labels=row.labels,
        deployed_by=row.deployed_by,
        deployed_at=row.created_at,
        sha256=model.onnx_sha256,
        size=file.size,
        format=model.format,
        class_names=list(model.class_names),
        download_url=f"/api/v1/projects/{workspace.slug}/{project.slug}/models/{model.version}/file",
    )


@router.get(
    "/{workspace}/{project}/models/{version}/file",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, 206: {"description": "A byte range"}},
)
def model_file(
    request: Request,
    project: PathProject,
    store: StoreDep,
    version: Annotated[int, Path(ge=1, le=MAX_SQL_INT)],
    range_: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The registered ONNX file of ``version``: ``ETag`` is its SHA-256, ``Range: bytes=N-`` answers 206
    (416 ``range_not_satisfiable`` past the end), ``If-None-Match`` with that tag answers 304."""
    with store.db.reading() as session:
        model = get_model_version(session, project, version)
    file = _model_file(store, model)
    headers = {"ETag": f'"{file.sha256}"', "Accept-Ranges": "bytes", "Cache-Control": "private, no-cache"}
    if if_none_match is not None and etag_value(if_none_match) in (file.sha256, "*"):
        return Response(status_code=304, headers=headers)
    try:
        wanted = requested_range(range_, if_range, file.sha256, file.size)
    except Unsatisfiable:
        refused = error_response(
            416, "range_not_satisfiable", f"the range {range_!r} starts past the file's {file.size} bytes"
        )
        refused.headers.update({**headers, "Content-Range": f"bytes */{file.size}"})
        return refused
    first, last = wanted or (0, file.size - 1)
    headers["Content-Length"] = str(last - first + 1)
    headers["Content-Disposition"] = f'attachment; filename="{project.slug}-v{version}.onnx"'
    if wanted is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{file.size}"
    return StreamingResponse(
        file.chunks(first, last),
        status_code=206 if wanted is not None else 200,
        headers=headers,
        media_type="application/octet-stream",
    )
