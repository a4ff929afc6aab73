"""Annotations of one image: add (COCO, VOC, YOLO, Roboflow JSON) as ground truth or predictions; list."""

from __future__ import annotations

import io
import posixpath
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query

from framescout.server.annotation_formats import parse_annotation
from framescout.server.deps import PathProject, SettingsDep, StoreDep
from framescout.server.schemas import AnnotationOut, AnnotationsSaved
from framescout.store.errors import Invalid
from framescout.store.images import (
    MAX_BOXES_PER_IMAGE,
    get_image,
    list_annotations,
    save_annotations,
)

router = APIRouter(
    prefix="/api/v1/projects/{workspace}/{project}/images/{image_id}/annotations", tags=["annotations"]
)

Format = Literal["coco", "voc", "yolo", "roboflow"]
Kind = Literal["ground_truth", "prediction"]


def line_formats_box_count(text: str, fmt: str | None, filename: str | None) -> int | None:
    """Boxes in a YOLO or VOC text, counted without parsing it and at most ``MAX_BOXES_PER_IMAGE + 1``
    (None for the JSON formats, whose parse is one ``json.loads``), so a huge file is refused in
    O(cap) before its per-box parse."""
    ext = posixpath.splitext((filename or "").lower())[1]
    head = text[:64].lstrip()
    if fmt == "voc" or (fmt is None and (ext == ".xml" or head.startswith("<"))):
        return text.count("<object")
    if fmt == "yolo" or (fmt is None and not head.startswith(("{", "[")) and ext != ".json"):
        if text.count("\n") < MAX_BOXES_PER_IMAGE:
            return None  # cannot be over the cap; the parse counts exactly
        count = 0
        for line in io.StringIO(text):
            count += bool(line.strip())
            if count > MAX_BOXES_PER_IMAGE:
                break
        return count
    return None


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
    """Parse and store boxes; 409 when the image already has annotations of this kind (unless overwrite).

    Capped: at most 1,000 boxes per image (422 ``too_many_boxes``), 1,000 new classes per request
    (``too_many_new_classes``) and 10,000 classes per project (``too_many_classes``) by default."""
    counted = line_formats_box_count(content, format, filename)
    if counted is not None and counted > MAX_BOXES_PER_IMAGE:
        raise Invalid(
            "too_many_boxes",
            f"the annotation has more than {MAX_BOXES_PER_IMAGE:,} boxes for one image; "
            f"at most {MAX_BOXES_PER_IMAGE:,} per image",
        )
    with store.db.reading() as session:
        image = get_image(session, project, image_id)
    boxes = parse_annotation(
        content,
        fmt=format,
        filename=filename,
        image_name=image.name,
        width=image.width,
        height=image.height,
        labelmap=labelmap.split(",") if labelmap else None,
        classes=project.classes,
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
