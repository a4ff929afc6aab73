"""The subset of Roboflow's REST API that the official ``roboflow`` package calls (``API_URL``).

Read from roboflow 1.x: ``POST /`` (key check), ``GET /{workspace}``, ``GET /{workspace}/{project}``
(project + versions), ``POST /dataset/{project}/upload`` and ``POST /dataset/{project}/annotate/{id}``.
Projects are looked up in the key's workspace, as Roboflow does.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from framescout import __version__
from framescout.server import prelabels
from framescout.server.annotation_formats import parse_annotation, refuse_too_many_boxes
from framescout.server.deps import CurrentWorkspace, FetcherDep, PathWorkspace, SettingsDep, StoreDep
from framescout.server.uploads import decode_fields, ingest_upload
from framescout.store.accounts import get_project, list_projects
from framescout.store.annotations import save_annotations
from framescout.store.models import (
    GROUND_TRUTH,
    PREDICTION,
    ModelVersion,
    Project,
    Workspace,
)
from framescout.store.queries import get_image
from framescout.store.summaries import ProjectSummary, project_summary
from framescout.upload_fields import UploadFields

router = APIRouter(tags=["roboflow-compatible"])


def _color(name: str) -> str:
    return "#" + hashlib.sha1(name.encode()).hexdigest()[:6]


def project_info(workspace: Workspace, project: Project, summary: ProjectSummary) -> dict[str, Any]:
    """Roboflow's project object (what ``roboflow.core.project.Project`` reads)."""
    counts, classes = summary.images, summary.classes
    return {
        "id": f"{workspace.slug}/{project.slug}",
        "name": project.name,
        "type": project.type,
        "annotation": project.name,
        "classes": classes,
        "colors": {name: _color(name) for name in classes},
        "created": project.created_at.timestamp(),
        "updated": project.updated_at.timestamp(),
        "images": counts["total"],
        "unannotated": counts["unannotated"],
        "splits": {k: counts[k] for k in ("train", "valid", "test")},
        "public": False,
        "versions": len(summary.versions),
    }


def version_info(
    workspace: Workspace, project: Project, model: ModelVersion, counts: dict[str, int]
) -> dict[str, Any]:
    """Roboflow's version object; ``model`` makes ``version.model`` an ObjectDetectionModel."""
    return {
        "id": f"{workspace.slug}/{project.slug}/{model.version}",
        "name": project.name,
        "version": str(model.version),
        "created": model.created_at.timestamp(),
        "images": counts["total"],
        "splits": {k: counts[k] for k in ("train", "valid", "test")},
        "augmentation": {},
        "preprocessing": {},
        "exports": [],
        "model": {
            "id": f"{project.slug}/{model.version}",
            "endpoint": f"/{project.slug}/{model.version}",
            "format": model.format or "auto",
            "classes": model.class_names,
        },
    }


@router.post("/", summary="Check an API key (roboflow.Roboflow(api_key=...))")
def check_key(workspace: CurrentWorkspace) -> dict[str, str]:
    return {
        "welcome": f"framescout {__version__}",
        "workspace": workspace.slug,
        "instructions": "see /docs for the API",
    }


@router.post("/dataset/{project}/upload", summary="Upload an image (project.upload)")
async def upload(
    project: str,
    workspace: CurrentWorkspace,
    store: StoreDep,
    settings: SettingsDep,
    fetcher: FetcherDep,
    file: Annotated[UploadFile | None, File()] = None,
    form_name: Annotated[str | None, Form(alias="name")] = None,
    form_split: Annotated[str | None, Form(alias="split")] = None,
    form_metadata: Annotated[str | None, Form(alias="metadata")] = None,
    name: str | None = None,
    split: str | None = None,
    batch: str | None = None,
    tag: Annotated[list[str] | None, Query()] = None,
    image: Annotated[str | None, Query(description="A hosted image URL instead of a file.")] = None,
    metadata: str | None = None,
) -> dict[str, Any]:
    """Answers ``{"success": true, "id"}``, or ``{"duplicate": true, "id", "predictions_added"}`` for
    bytes already stored (pre-labels of a model version the image lacks are added to it).

    The image is stored with source ``roboflow``; when the same image went through this workspace's
    hosted inference in the last minutes (``workspace.active_learning()`` does that first), those
    predictions come with it as pre-labels, with the model version ``project/version``.

    ``async`` like the native upload: an ``image`` URL is fetched on the event loop under the fetch
    policy; the project lookup, parsing and ingest run in the threadpool."""

    def prepare() -> tuple[Project, UploadFields]:
        with store.db.reading() as session:
            target = get_project(session, workspace, project)
        texts = {
            "name": form_name or name,
            "split": form_split or split,
            "metadata": form_metadata or metadata,
        }
        fields = decode_fields({**texts, "batch": batch}, tags=tag or [], source="roboflow")
        return target, fields

    target, fields = await run_in_threadpool(prepare)

    def with_prelabels(data: bytes, fields: UploadFields) -> None:
        """Predictions of a hosted inference on the same image just before (`server.prelabels`)."""
        found = prelabels.recall(store.db, workspace, data)
        if found is None:
            return
        predictions = prelabels.usable(found, target, settings.class_limits)
        if predictions is None:
            return
        fields.predictions = predictions
        fields.model_version = found.model
        fields.metadata = {
            **fields.metadata,
            "prelabels": {
                "model": found.model,
                "inferred_at": found.inferred_at.isoformat(timespec="seconds") + "Z",
                "matched": found.matched,
            },
        }

    url = None if file is not None else image
    result = await ingest_upload(
        store, settings, fetcher, target, fields, file=file, url=url, before=with_prelabels
    )
    if result.duplicate:
        return {"duplicate": True, "id": result.id, "predictions_added": result.predictions_added}
    return {"success": True, "id": result.id}


class AnnotationBody(BaseModel):
    annotationFile: str = Field(description="The annotation file's text.")
    labelmap: dict[str, str] | list[str] | None = None


@router.post(
    "/dataset/{project}/annotate/{image_id}", summary="Attach an annotation (project.upload(annotation_path))"
)
def annotate(
    project: str,
    image_id: str,
    body: AnnotationBody,
    workspace: CurrentWorkspace,
    store: StoreDep,
    settings: SettingsDep,
    name: str | None = None,
    prediction: bool = False,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Parses COCO, Pascal VOC, YOLO (with ``labelmap`` or the project's classes) or Roboflow JSON."""
    refuse_too_many_boxes(body.annotationFile, None, name)
    with store.db.reading() as session:
        target = get_project(session, workspace, project)
        im = get_image(session, target, image_id)
    boxes = parse_annotation(
        body.annotationFile,
        fmt=None,
        filename=name,
        image_name=im.name,
        width=im.width,
        height=im.height,
        labelmap=body.labelmap,
        classes=target.classes,
    )
    kind = PREDICTION if prediction else GROUND_TRUTH
    count = save_annotations(
        store.db, target, image_id, boxes, kind=kind, overwrite=overwrite, class_limits=settings.class_limits
    )
    return {"success": True, "image": image_id, "annotations": count}


@router.get("/{workspace}", summary="Workspace and its projects (rf.workspace())")
def workspace_info(workspace: PathWorkspace, store: StoreDep) -> dict[str, Any]:
    with store.db.reading() as session:
        projects = [
            project_info(workspace, p, project_summary(session, p)) for p in list_projects(session, workspace)
        ]
    return {"workspace": {"name": workspace.name, "url": workspace.slug, "members": [], "projects": projects}}


@router.get("/{workspace}/{project}", summary="Project and versions (workspace.project(P))")
def project_detail(workspace: PathWorkspace, project: str, store: StoreDep) -> dict[str, Any]:
    with store.db.reading() as session:
        target = get_project(session, workspace, project)
        summary = project_summary(session, target)
        info = project_info(workspace, target, summary)
        versions = [version_info(workspace, target, m, summary.images) for m in summary.versions]
    return {
        "workspace": {"name": workspace.name, "url": workspace.slug, "members": []},
        "project": info,
        "versions": versions,
    }
