"""Helpers shared by the native and the Roboflow-compatible upload routes: read, parse, ingest."""

from __future__ import annotations

from typing import Any

from fastapi import UploadFile

from framescout import jsontext
from framescout.predictions import Predictions, PredictionsError
from framescout.server.fetch import fetch_url
from framescout.server.settings import Settings
from framescout.store import Store
from framescout.store.errors import Invalid, StoreError
from framescout.store.images import ImageFields, IngestResult, ingest_image
from framescout.store.models import Project


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
    url: str | None,
) -> IngestResult:
    """Take the bytes from the file part or the URL (exactly one) and ingest them."""
    if (file is None) == (not url):
        raise Invalid(
            "missing_file", "send exactly one of the multipart field 'file' or a hosted image 'url'"
        )
    if file is not None:
        data = read_file(file, settings.max_upload_bytes)
        if not fields.name and file.filename:
            fields.name = file.filename
    else:
        assert url is not None
        data = fetch_url(url, max_bytes=settings.max_upload_bytes, timeout=settings.fetch_timeout)
        fields.source_url = url
        if not fields.name:
            fields.name = url.rsplit("/", 1)[-1].split("?", 1)[0] or None
    return ingest_image(
        store.db,
        store.blobs,
        project,
        data,
        fields,
        max_pixels=settings.max_pixels,
        max_bytes=settings.max_upload_bytes,
    )
