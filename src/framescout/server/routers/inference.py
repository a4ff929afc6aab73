"""Hosted inference in Roboflow's shape (``OBJECT_DETECTION_URL``): ``POST /{project}/{version}``.

As sent by ``roboflow.models.object_detection``: a base64 body (or ``image=<url>``), ``confidence`` and
``overlap`` in percent, ``classes`` as a comma-separated filter, ``format=json``."""

from __future__ import annotations

import base64
import binascii
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from framescout.imaging import ImageError, decode_image
from framescout.server import prelabels
from framescout.server.deps import CurrentWorkspace, FetcherDep, SettingsDep, StoreDep
from framescout.server.errors import RequestInvalid
from framescout.server.fetch import check_url, fetch_failed_error
from framescout.server.inference import ModelRegistry
from framescout.server.settings import Settings
from framescout.store import Store
from framescout.store.accounts import get_model_version, get_project
from framescout.store.db import DatabaseError
from framescout.store.models import ModelVersion, Workspace
from framescout.store.validation import MAX_SQL_INT, image_error

router = APIRouter(tags=["inference"])
fetch_log = logging.getLogger("framescout.server.fetch")
log = logging.getLogger("framescout.server.inference")


def _image_bytes(body: bytes, content_type: str) -> bytes:
    """Raw image bytes from an ``image/*`` body, else base64 text (a ``data:`` URL prefix is allowed)."""
    if content_type.startswith("image/"):
        return body
    text = body.strip()
    if text.startswith(b"data:") and b"," in text:
        text = text.split(b",", 1)[1]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RequestInvalid(
            "invalid_base64", "the body must be a base64-encoded image (or raw image/* bytes)"
        ) from None


@router.post("/{project}/{version}", summary="Run a registered model (Roboflow hosted-inference shape)")
async def infer(
    project: str,
    version: Annotated[int, Path(ge=0, le=MAX_SQL_INT, description="The model version.")],
    request: Request,
    workspace: CurrentWorkspace,
    store: StoreDep,
    settings: SettingsDep,
    fetcher: FetcherDep,
    confidence: Annotated[float, Query(ge=0, le=100, description="Minimum confidence, percent.")] = 40,
    overlap: Annotated[float, Query(ge=0, le=100, description="NMS IoU threshold, percent.")] = 30,
    classes: Annotated[str | None, Query(description="Comma-separated class names to keep.")] = None,
    image: Annotated[str | None, Query(description="URL of a hosted image instead of a body.")] = None,
    format: Annotated[str, Query(description="Only `json` is supported.")] = "json",
) -> dict[str, Any]:
    """Predictions with centre x/y, width, height (pixels), confidence, class, class_id, detection_id."""
    if format != "json":
        raise RequestInvalid("unsupported_format", f"format={format!r} is not supported; use format=json")
    body = await request.body()
    if not body and not image:
        raise RequestInvalid("missing_image", "send the image as a base64 body or pass image=<url>")
    if not body and image:
        check_url(image)
    job = _Job(
        project=project,
        version=version,
        workspace=workspace,
        store=store,
        settings=settings,
        registry=request.app.state.models,
        body=body,
        content_type=request.headers.get("content-type", ""),
    )
    model = await run_in_threadpool(job.model)
    if body:
        data = await run_in_threadpool(_image_bytes, body, job.content_type)
    else:
        assert image is not None
        data = await fetcher.fetch(image)  # on the event loop, bounded; never holds a pool thread
    try:
        return await run_in_threadpool(job.run, model, data, confidence / 100, overlap / 100, classes)
    except ImageError as exc:
        if not body:  # a fetched non-image looks like any other fetch failure
            fetch_log.warning("URL fetch refused or failed: %r: not a usable image (%s)", image, exc)
            raise fetch_failed_error(fetcher.policy) from None
        raise image_error(exc) from None


@dataclass
class _Job:
    """One inference request, run off the event loop (decoding and the model are CPU-bound)."""

    project: str
    version: int
    workspace: Workspace
    store: Store
    settings: Settings
    registry: ModelRegistry
    body: bytes
    content_type: str

    def model(self) -> ModelVersion:
        """The registered model (404 before any image is read or fetched)."""
        with self.store.db.reading() as session:
            return get_model_version(
                session, get_project(session, self.workspace, self.project), self.version
            )

    def run(
        self, model: ModelVersion, data: bytes, confidence: float, iou: float, classes: str | None
    ) -> dict[str, Any]:
        """Decode (raises `ImageError`), predict and shape the answer."""
        started = time.perf_counter()
        limit = self.settings.max_upload_bytes
        decoded = decode_image(data, max_pixels=self.settings.max_pixels, max_bytes=limit)
        predictions = self.registry.predict(model, decoded, confidence=confidence, iou=iou)
        if classes:
            wanted = {c.strip() for c in classes.split(",") if c.strip()}
            predictions = predictions[np.fromiter((n in wanted for n in predictions.class_name), dtype=bool)]
        payload = predictions.to_roboflow()
        for item in payload["predictions"]:
            item["detection_id"] = str(uuid.uuid4())
        payload["image"] = {"width": decoded.width, "height": decoded.height}
        self._remember(model, data, decoded, payload)
        payload["time"] = round(time.perf_counter() - started, 4)
        return payload

    def _remember(self, model: ModelVersion, data: bytes, decoded: Any, payload: dict[str, Any]) -> None:
        """Keep the answer for an upload of the same image that may follow (`server.prelabels`);
        a failure to keep it never fails the inference."""
        try:
            prelabels.remember(
                self.store.db, self.workspace, f"{self.project}/{model.version}", data, decoded, payload
            )
        except DatabaseError as exc:
            log.warning("hosted inference answer not kept for pre-labels: %s", exc)
