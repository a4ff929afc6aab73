"""Helpers shared by the native and the Roboflow-compatible upload routes: the form, read, parse, fetch,
ingest.

The native upload form is derived from `framescout.upload_fields`: `UploadFormDep` declares one form
parameter per form field of `UploadFields` (same name, same description) and decodes each by its
`Wire`; a new upload field needs no change here.

Upload routes are ``async``: a hosted image is fetched on the event loop under the fetch policy
(`framescout.server.fetch`), and reading the file part and ingesting run in the threadpool, so a
slow URL never holds a thread that other routes need."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool

from framescout import jsontext
from framescout.imaging import ImageError
from framescout.predictions import Predictions, PredictionsError
from framescout.server.errors import RequestTooLarge
from framescout.server.fetch import Fetcher, check_url, fetch_failed_error
from framescout.server.metrics import records_upload
from framescout.server.settings import Settings
from framescout.store import Store
from framescout.store.errors import Invalid, StoreError
from framescout.store.ingest import Attach, Check, IngestLimits, IngestResult, ingest_image
from framescout.store.models import Project
from framescout.store.validation import check_box_count, parse_metadata
from framescout.upload_fields import BY_NAME, FORM_FIELDS, UploadFields, Wire

log = logging.getLogger("framescout.server.fetch")

Before = Callable[[bytes, UploadFields], None]
"""Called in the threadpool with an upload's bytes and fields, before the ingest."""


def read_file(file: UploadFile, max_bytes: int) -> bytes:
    """The uploaded part's bytes, refusing more than ``max_bytes`` (413)."""
    data = file.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise RequestTooLarge("too_large", f"the image is larger than {max_bytes:,} bytes")
    return data


def parse_predictions(
    text: str | None, field: str = "predictions", *, default_confidence: float | None = None
) -> Predictions | None:
    """Roboflow-shaped predictions JSON text (``{"predictions": [...], "image": {...}}``), size-
    and depth-checked before parsing; every box field's type is checked (errors name ``field``)."""
    if text in (None, ""):
        return None
    assert text is not None
    return predictions_of(jsontext.loads(text, field), field, default_confidence=default_confidence)


def predictions_of(payload: Any, field: str, *, default_confidence: float | None = None) -> Predictions:
    """`parse_predictions` of JSON already parsed (a JSON body's field): the same checks and codes."""
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


DECODE: dict[Wire, Callable[[str | None], Any]] = {
    Wire.TEXT: lambda text: text,
    Wire.TAGS: split_tags,
    Wire.JSON_OBJECT: parse_metadata,
    Wire.PREDICTIONS: parse_predictions,
}
"""How the server reads each kind of form text (`framescout.upload_fields.Wire`)."""


@dataclass(frozen=True)
class UploadForm:
    """The native upload form as sent: the bytes (``file`` or ``url``) and each field's text."""

    file: UploadFile | None
    url: str | None
    texts: dict[str, str | None]

    def fields(self) -> UploadFields:
        """Each field decoded per its `Wire` (JSON parsing: call it in the threadpool)."""
        return decode_fields(self.texts)


def decode_fields(texts: dict[str, str | None], **values: Any) -> UploadFields:
    """`UploadFields` from form ``texts`` (each decoded per its field's `Wire`) and ``values``
    (already parsed, or set by the route)."""
    return UploadFields(**{name: DECODE[BY_NAME[name].wire](text) for name, text in texts.items()}, **values)


async def _upload_form(file: UploadFile | None, url: str | None, **texts: str | None) -> UploadForm:
    return UploadForm(file, url, texts)


def _form_parameter(name: str, description: str | None) -> inspect.Parameter:
    annotation = Annotated[str | None, Form(description=description)]
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)


_upload_form.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # what FastAPI reads
    [
        inspect.Parameter(
            "file",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[UploadFile | None, File(description="The image bytes.")],
        ),
        _form_parameter("url", "A hosted image to fetch instead of `file` (http/https)."),
        *(_form_parameter(spec.name, spec.description) for spec in FORM_FIELDS),
    ]
)
UploadFormDep = Annotated[UploadForm, Depends(_upload_form)]
"""The native upload's multipart form, one parameter per `framescout.upload_fields` form field."""


def ingest_limits(settings: Settings) -> IngestLimits:
    """The server's caps on an ingest."""
    return IngestLimits(settings.max_pixels, settings.max_upload_bytes, settings.class_limits)


def ingest(
    store: Store,
    settings: Settings,
    project: Project,
    fields: UploadFields,
    *,
    file: UploadFile | None,
    data: bytes | None = None,
    before: Before | None = None,
    check: Check | None = None,
    attach: Attach | None = None,
    refreshed: Callable[[Project], None] | None = None,
) -> IngestResult:
    """Ingest the file part's bytes, or ``data`` (already fetched); exactly one of the two.
    ``before`` may add to ``fields`` once the bytes are known (the Roboflow route's pre-labels);
    ``check`` and ``attach`` are the ingest's (`framescout.store.ingest`: a feedback or bug report
    checked against the image, then written in the image's transaction). A class refusal made on a
    stale cached project is retried once on the stored one (`fresher_classes`), which ``refreshed``
    is then told about (for hooks that hold the project)."""
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

    def attempt(current: Project) -> IngestResult:
        assert data is not None
        limits = ingest_limits(settings)
        return ingest_image(
            store.db, store.blobs, current, data, fields, limits=limits, check=check, attach=attach
        )

    try:
        return attempt(project)
    except Invalid as exc:
        fresh = fresher_classes(store, project) if exc.code in CLASS_REFUSALS else None
        if fresh is None:
            raise
        if refreshed is not None:
            refreshed(fresh)
        return attempt(fresh)


CLASS_REFUSALS = frozenset({"unknown_class", "too_many_new_classes", "too_many_classes"})
"""The early refusals that depend on the project's class list (which the server caches briefly)."""


def fresher_classes(store: Store, project: Project) -> Project | None:
    """The project as stored now if its class list differs from ``project``'s, else ``None``.

    Routes get the project from a cache of up to two seconds, so a class another worker or host has
    just added may be missing from it; an early class refusal is therefore checked against the
    stored list before it is answered (the write transaction re-checks on its own either way)."""
    with store.db.reading() as session:
        fresh = session.get(Project, project.id)
    if fresh is None or (fresh.classes, fresh.strict_classes) == (project.classes, project.strict_classes):
        return None
    return fresh


@records_upload
async def ingest_upload(
    store: Store,
    settings: Settings,
    fetcher: Fetcher,
    project: Project,
    fields: UploadFields,
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
