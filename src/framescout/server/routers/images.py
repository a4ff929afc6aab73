"""Images: upload (multipart or hosted URL), list with filters, read, fetch bytes and thumbnails."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from framescout.server.deps import FetcherDep, PathProject, SettingsDep, StoreDep, ThumbnailsDep
from framescout.server.image_bytes import THUMBNAIL_SIZES, original_response, thumbnail_response
from framescout.server.schemas import ApiReviewIn, ErrorOut, ImageList, ImageOut, ReviewSaved, UploadOut
from framescout.server.uploads import UploadFormDep, ingest_upload
from framescout.store.annotations import list_annotations
from framescout.store.queries import ImageFilter, get_image, query_images
from framescout.store.review import save_review
from framescout.store.validation import MAX_SQL_INT, check_split

router = APIRouter(prefix="/api/v1/projects/{workspace}/{project}/images", tags=["images"])

_FILTER_FIELDS = [f.name for f in dataclasses.fields(ImageFilter) if f.name not in ("split", "review_status")]
"""`ImageFilter` fields the listing takes as query parameters of the same name, unchanged."""
_ERRORS: dict[int | str, dict[str, object]] = {s: {"model": ErrorOut} for s in (401, 404, 413, 415, 422)}


@router.post(
    "",
    response_model=UploadOut,
    status_code=201,
    responses={
        200: {"model": UploadOut, "description": "The same bytes are already in the project."},
        **_ERRORS,
    },
)
async def upload(
    response: Response,
    project: PathProject,
    store: StoreDep,
    settings: SettingsDep,
    fetcher: FetcherDep,
    form: UploadFormDep,  # file, url and the form fields of `framescout.upload_fields.UploadFields`
) -> UploadOut:
    """Upload one image; answers 200 with ``duplicate: true`` when the same bytes already exist.

    ``async``: a ``url`` is fetched on the event loop (bounded, with a total deadline) and the parsing
    and ingest run in the threadpool, so slow hosted images cannot starve other routes."""
    fields = await run_in_threadpool(form.fields)
    result = await ingest_upload(store, settings, fetcher, project, fields, file=form.file, url=form.url)
    if result.duplicate:
        response.status_code = 200
    added = result.predictions_added
    return UploadOut(id=result.id, sha256=result.sha256, duplicate=result.duplicate, predictions_added=added)


@router.get("", response_model=ImageList)
def list_images(
    project: PathProject,
    store: StoreDep,
    batch: str | None = None,
    tag: str | None = None,
    split: str | None = None,
    sampling_rule: str | None = None,
    device_id: str | None = None,
    model_version: str | None = None,
    min_confidence: Annotated[
        float | None, Query(ge=0, le=1, description="Has a prediction at least this.")
    ] = None,
    max_confidence: Annotated[
        float | None, Query(ge=0, le=1, description="Has a prediction at most this.")
    ] = None,
    labelled: Annotated[bool | None, Query(description="Has ground-truth annotations (or not).")] = None,
    status: Annotated[
        Literal["pending", "reviewed", "rejected"] | None, Query(description="Review status.")
    ] = None,
    assist: Annotated[
        Literal["server", "failed"] | None,
        Query(description="Label assist: pre-labelled by the server, or the server failed to."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> ImageList:
    """Images of the project, newest first, filtered."""
    given = dict(locals())  # the query parameters, named like the filter's fields (but ``status``)
    same = {k: given[k] for k in _FILTER_FIELDS}
    f = ImageFilter(**same, split=check_split(split), review_status=status)
    with store.db.reading() as session:
        rows, total = query_images(session, project, f, limit=limit, offset=offset)
        images = [ImageOut.of(im) for im in rows]
    return ImageList(images=images, total=total, limit=limit, offset=offset)


@router.get("/{image_id}", response_model=ImageOut)
def read(image_id: str, project: PathProject, store: StoreDep) -> ImageOut:
    """One image's record with its annotations (ground truth and predictions)."""
    with store.db.reading() as session:
        image = get_image(session, project, image_id)
        return ImageOut.of(image, list_annotations(session, image.id))


@router.get("/{image_id}/file", response_class=Response, responses={200: {"content": {"image/*": {}}}})
def file(image_id: str, project: PathProject, store: StoreDep) -> Response:
    """The original bytes."""
    with store.db.reading() as session:
        image = get_image(session, project, image_id)
    return original_response(store, image)


@router.get(
    "/{image_id}/thumbnail", response_class=Response, responses={200: {"content": {"image/jpeg": {}}}}
)
def thumbnail(
    image_id: str,
    project: PathProject,
    store: StoreDep,
    settings: SettingsDep,
    thumbnails: ThumbnailsDep,
    size: Annotated[
        int | None,
        Query(
            ge=16,
            le=max(THUMBNAIL_SIZES),
            description=f"Longest side at most this; served at the largest of {list(THUMBNAIL_SIZES)} "
            "not above it.",
        ),
    ] = None,
) -> Response:
    """A JPEG no larger than ``size`` pixels on its longer side (one of a fixed set of sizes)."""
    with store.db.reading() as session:
        image = get_image(session, project, image_id)
    side = size or settings.thumbnail_size
    return thumbnail_response(store, thumbnails, image, side, cache_control="private, max-age=86400")


@router.post("/{image_id}/review", response_model=ReviewSaved, responses=_ERRORS)
def review(image_id: str, body: ApiReviewIn, project: PathProject, store: StoreDep) -> ReviewSaved:
    """Store a review (what the review page does): ``boxes`` become the image's ground truth and the
    image is marked ``reviewed`` (or ``rejected``, with no boxes), with who and when."""
    result = save_review(
        store.db,
        project,
        image_id,
        body.to_boxes(),
        reviewer=body.reviewer or "API client",
        status=body.status,
    )
    return ReviewSaved.of(result)
