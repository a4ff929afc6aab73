"""Annotations of one image: add (COCO, VOC, YOLO, Roboflow JSON) as ground truth or predictions; list."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query

from framescout.server.annotation_formats import parse_annotation, refuse_too_many_boxes
from framescout.server.deps import PathProject, SettingsDep, StoreDep
from framescout.server.schemas import AnnotationOut, AnnotationsSaved
from framescout.store.annotations import list_annotations, save_annotations
from framescout.store.classes import current_classes
from framescout.store.queries import get_image

router = APIRouter(
    prefix="/api/v1/projects/{workspace}/{project}/images/{image_id}/annotations", tags=["annotations"]
)

Format = Literal["coco", "voc", "yolo", "roboflow"]
Kind = Literal["ground_truth", "prediction"]


@router.post("", response_model=AnnotationsSaved, status_code=201)
def add(
    image_id: str,
    project: PathProject,
    store: StoreDep,
    settings: SettingsDep,
    content: Annotated[str, Body(media_type="text/plain", description="The annotation file's text.")],
    format: Annotated[
        Format | None, Query(description="Guessed from `filename`/content when absent.")
    ] = None,
    kind: Kind = "ground_truth",
    overwrite: bool = False,
    filename: str | None = None,
    labelmap: Annotated[
        str | None, Query(description="YOLO class names, comma-separated, in id order.")
    ] = None,
    model_version: str | None = None,
) -> AnnotationsSaved:
    """Parse and store boxes; 409 when the image already has ground truth, or (``kind=prediction``)
    predictions of this ``model_version`` (unless overwrite, which replaces those only).

    Capped: at most 1,000 boxes per image (422 ``too_many_boxes``), 1,000 new classes per request
    (``too_many_new_classes``) and 10,000 classes per project (``too_many_classes``) by default."""
    refuse_too_many_boxes(content, format, filename)  # YOLO/VOC: counted before parsing
    with store.db.reading() as session:
        image = get_image(session, project, image_id)
        classes = current_classes(session, project)  # YOLO ids index the list as it is now
    boxes = parse_annotation(
        content,
        fmt=format,
        filename=filename,
        image_name=image.name,
        width=image.width,
        height=image.height,
        labelmap=labelmap.split(",") if labelmap else None,
        classes=classes,
    )
    count = save_annotations(
        store.db,
        project,
        image_id,
        boxes,
        kind=kind,
        overwrite=overwrite,
        model_version=model_version,
        class_limits=settings.class_limits,
    )
    return AnnotationsSaved(image_id=image_id, kind=kind, count=count)


@router.get("", response_model=list[AnnotationOut])
def list_(
    image_id: str, project: PathProject, store: StoreDep, kind: Kind | None = None
) -> list[AnnotationOut]:
    with store.db.reading() as session:
        image = get_image(session, project, image_id)
        return [AnnotationOut.of(a) for a in list_annotations(session, image.id, kind)]
