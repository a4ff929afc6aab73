"""Helpers shared by the native and the Roboflow-compatible upload routes: read, parse, fetch, ingest.

Upload routes are ``async``: a hosted image is fetched on the event loop under the fetch policy
(`framescout.server.fetch`), and reading the file part and ingesting run in the threadpool, so a
slow URL never holds a thread that other routes need."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from framescout import jsontext
from framescout.imaging import ImageError
from framescout.predictions import Predictions, PredictionsError
from framescout.server.fetch import Fetcher, check_url, fetch_failed_error
from framescout.server.metrics import records_upload
from framescout.server.settings import Settings
from framescout.store import Store
from framescout.store.errors import Invalid, StoreError
from framescout.store.ingest import ImageFields, IngestResult, ingest_image
from framescout.store.models import Project
from framescout.store.validation import check_box_count

log = logging.getLogger("framescout.server.fetch")

Before = Callable[[bytes, ImageFields], None]
"""Called in the threadpool with an upload's bytes and fields, before the ingest."""


def read_file(file: UploadFile, max_bytes: int) -> bytes:
    """The uploaded part's bytes, refusing more than ``max_bytes`` (413)."""
    data = file.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise StoreError("too_large", f"the image is larger than {max_bytes:,} bytes", status=413)
    return data


def parse_predictions(
    text: str | None, field: str = "predictions", *, default_confidence: float | None = None
) -> Predictions | None:
    """Roboflow-shaped predictions JSON text (``{"predictions": [...], "image": {...}}``), size-
    and depth-checked before parsing; every box field's type is checked (errors name ``field``)."""
    if text in (None, ""):
        return None
    assert text is not None
    payload: Any = jsontext.loads(text, field)
    if not isinstance(payload, dict | list):
        raise Invalid("invalid_predictions", f"{field} must be a JSON object or list")
    items = payload.get("predictions") if isinstance(payload, dict) else payload
    if isinstance(items, list):
        check_box_count(len(items))  # before building arrays for them
    try:
        return Predictions.from_roboflow(payload, default_confidence=default_confidence)
    except PredictionsError as exc:
        raise Invalid("invalid_predictions", f"{field}: {exc}") from None


def split_tags(text: str | None) -> list[str]:
    return [] if not text else [t for t in (p.strip() for p in text.split(",")) if t]


def ingest(
    store: Store,
    settings: Settings,
    project: Project,
    fields: ImageFields,
    *,
    file: UploadFile | None,
    data: bytes | None = None,
    before: Before | None = None,
) -> IngestResult:
    """Ingest the file part's bytes, or ``data`` (already fetched); exactly one of the two.
    ``before`` may add to ``fields`` once the bytes are known (the Roboflow route's pre-labels)."""
    if (file is None) == (data is None):
        raise Invalid(
            "missing_file", "send exactly one of the multipart field 'file' or a hosted image 'url'"
        )
    if file is not None:
        data = read_file(file, settings.max_upload_bytes)
        if not fields.name and file.filename:
            fields.name = file.filename
    assert data is not None
    if before is not None:
        before(data, fields)
    return ingest_image(
        store.db,
        store.blobs,
        project,
        data,
        fields,
        max_pixels=settings.max_pixels,
        max_bytes=settings.max_upload_bytes,
        class_limits=settings.class_limits,
    )


@records_upload
async def ingest_upload(
    store: Store,
    settings: Settings,
    fetcher: Fetcher,
    project: Project,
    fields: ImageFields,
    *,
    file: UploadFile | None,
    url: str | None,
    before: Before | None = None,
) -> IngestResult:
    """Take the bytes from the file part or the URL (exactly one) and ingest them, off the event loop.

    For a URL, bytes that do not decode as an image answer the same `fetch_failed` as any other
    fetch failure (so a fetch cannot tell an image host from any other service)."""
    if (file is None) == (not url):
        raise Invalid(
            "missing_file", "send exactly one of the multipart field 'file' or a hosted image 'url'"
        )
    if file is not None:
        return await run_in_threadpool(ingest, store, settings, project, fields, file=file, before=before)
    assert url is not None
    check_url(url)
    data = await fetcher.fetch(url)
    fields.source_url = url
    if not fields.name:
        fields.name = url.rsplit("/", 1)[-1].split("?", 1)[0] or None
    try:
        return await run_in_threadpool(
            ingest, store, settings, project, fields, file=None, data=data, before=before
        )
    except StoreError as exc:
        if not isinstance(exc.__context__, ImageError):
            raise
        log.warning("URL fetch refused or failed: %r: not a usable image (%s)", url[:200], exc.message)
        raise fetch_failed_error(fetcher.policy) from None
