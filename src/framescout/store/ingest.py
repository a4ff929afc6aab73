"""Image ingest: validate, dedupe by content hash, store blob + rows atomically.

Bad input is refused before anything is written; a blob written for an upload that then fails is
removed again unless another record references the same bytes, so a failure leaves nothing behind."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, exists, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from framescout.imaging import (
    MAX_BYTES,
    MAX_PIXELS,
    ImageError,
    ImageInfo,
    inspect_image,
    sha256_hex,
    verify_image,
)
from framescout.predictions.box import Box, boxes_from_predictions
from framescout.store.accounts import DEFAULT_CLASS_LIMITS, ClassLimits, new_classes
from framescout.store.annotations import INSERT_ANNOTATION, row_values
from framescout.store.blobs import BlobStore
from framescout.store.classes import learn_new_classes
from framescout.store.db import Database
from framescout.store.hash_locks import lock_hashes
from framescout.store.models import (
    PREDICTION,
    Base,
    Batch,
    Project,
    new_id,
    utcnow,
)
from framescout.store.prediction_versions import UPLOAD, record_run, write_version
from framescout.store.provenance import observed_time, upload_source
from framescout.store.validation import check_box_count, check_boxes, checked_fields, image_error
from framescout.upload_fields import COLUMN_FIELDS, UploadFields

ImageFields = UploadFields
"""The fields of an upload (`framescout.upload_fields.UploadFields`), under the store's older name."""


@dataclass(frozen=True)
class IngestLimits:
    """The caps an ingest enforces (the server's settings; these defaults elsewhere)."""

    max_pixels: int = MAX_PIXELS
    max_bytes: int = MAX_BYTES
    class_limits: ClassLimits = DEFAULT_CLASS_LIMITS


@dataclass(frozen=True)
class IngestResult:
    id: str
    sha256: str
    duplicate: bool
    predictions_added: int = 0
    """Known bytes with predictions of a model version the image did not have yet: that many boxes
    were added as that version's predictions (`framescout.store.prediction_versions`)."""


# Statements built once: constructing SQLAlchemy statements per request costs more than running them.
_IMAGES = Base.metadata.tables["images"]
_FIND_DUPLICATE = select(_IMAGES.c.id).where(
    _IMAGES.c.project_id == bindparam("project_id"), _IMAGES.c.sha256 == bindparam("sha256")
)
_INSERT_IMAGE = insert(_IMAGES)
_INSERT_TAG = insert(Base.metadata.tables["image_tags"])


def find_duplicate(conn: Session | Connection, project_id: str, sha256: str) -> str | None:
    result: str | None = conn.execute(_FIND_DUPLICATE, {"project_id": project_id, "sha256": sha256}).scalar()
    return result


def _batch_id(conn: Connection, project_id: str, name: str | None) -> str | None:
    if not name:
        return None
    found: str | None = conn.execute(
        select(Batch.id).where(Batch.project_id == project_id, Batch.name == name)
    ).scalar()
    if found is not None:
        return found
    batch_id = new_id()
    conn.execute(insert(Batch).values(id=batch_id, project_id=project_id, name=name, created_at=utcnow()))
    return batch_id


Attach = Callable[[Connection, str, bool], None]
"""Writes more rows about an ingested image (a report, tags) inside the image's own write transaction:
called with the connection, the image id and whether the bytes were a duplicate; raising rolls
everything back (and removes a blob this upload created)."""


@dataclass(frozen=True)
class PreparedImage:
    """An upload after every check that does not need the pixels (nothing written yet): its bytes,
    their header, the checked ``fields`` (``name`` and ``source`` resolved), the pre-label boxes and
    the limits."""

    data: bytes
    info: ImageInfo
    sha256: str
    fields: UploadFields
    boxes: list[Box]
    limits: IngestLimits
    observed_at: datetime | None


Check = Callable[[PreparedImage], None]
"""More checks of an upload once its header is read (a report's corrected boxes against the image's
size), before anything is written; raising refuses the upload."""


def prepare_image(
    project: Project, data: bytes, fields: UploadFields, *, limits: IngestLimits = IngestLimits()
) -> PreparedImage:
    """Validate every field, the header (byte and pixel caps) and the predictions against the image's
    size: all that a duplicate must pass too, so ``split=bogus`` is refused for known bytes as well."""
    sha256 = sha256_hex(data)
    try:
        info = inspect_image(data, max_pixels=limits.max_pixels, max_bytes=limits.max_bytes)
    except ImageError as exc:
        raise image_error(exc) from None
    checked = checked_fields(fields)
    if checked.name is None:
        checked.name = f"{sha256[:16]}{_extension(info.content_type)}"
    checked.source = upload_source(fields.source, fields.metadata)
    boxes: list[Box] = []
    if fields.predictions is not None:
        check_box_count(len(fields.predictions))
        boxes = check_boxes(
            boxes_from_predictions(fields.predictions), info.width, info.height, project, learn=True
        )
        new_classes(project.classes, [b.class_name for b in boxes], limits.class_limits)  # early refusal
    return PreparedImage(data, info, sha256, checked, boxes, limits, observed_time(fields.metadata))


def ingest_image(
    db: Database,
    blobs: BlobStore,
    project: Project,
    data: bytes,
    fields: UploadFields,
    *,
    limits: IngestLimits = IngestLimits(),
    check: Check | None = None,
    attach: Attach | None = None,
) -> IngestResult:
    """Store one image in ``project`` unless the same bytes are already there (then answer duplicate).

    Everything is validated first (`prepare_image`, ``check``, then for new bytes `verify_image`:
    OpenCV and Pillow must decode them). The hot path uses Core statements on plain connections: one
    read for the duplicate check, one short write transaction (``BEGIN IMMEDIATE`` on SQLite, the
    hash's advisory lock on PostgreSQL) for the blob, the rows and whatever ``attach`` adds
    (feedback and bug reports come through here too)."""
    prepared = prepare_image(project, data, fields, limits=limits)
    if check is not None:
        check(prepared)
    return store_prepared(db, blobs, project, prepared, attach=attach)


def store_prepared(
    db: Database, blobs: BlobStore, project: Project, prepared: PreparedImage, *, attach: Attach | None = None
) -> IngestResult:
    """The write half of `ingest_image`, for an upload `prepare_image` accepted."""
    sha256, data, limits = prepared.sha256, prepared.data, prepared.limits
    with db.read_engine.connect() as conn:
        existing = find_duplicate(conn, project.id, sha256)
    if existing is not None:  # the same bytes passed verify_image when they were stored
        return _duplicate(db, project, existing, prepared, attach)
    try:
        verify_image(data, max_pixels=limits.max_pixels, max_bytes=limits.max_bytes, info=prepared.info)
    except ImageError as exc:
        raise image_error(exc) from None

    image_id = new_id()
    now = utcnow()
    created = False
    try:
        # The blob is written inside the write transaction, which no other writer of the same bytes
        # shares (SQLite's BEGIN IMMEDIATE serialises every writer; on PostgreSQL `lock_hashes` takes
        # the hash's advisory lock), so a failed upload can remove the blob it created without racing
        # a concurrent upload of the same bytes that is about to reference it.
        with db.write_engine.begin() as conn:
            lock_hashes(conn, [sha256])
            _, created = blobs.put(data)
            _insert_rows(conn, project, image_id, now, prepared)
            if attach is not None:
                attach(conn, image_id, False)
    except IntegrityError:  # a concurrent twin won the unique (project, sha256) index
        _forget_blob(db, blobs, sha256, created)
        with db.read_engine.connect() as conn:
            existing = find_duplicate(conn, project.id, sha256)
        if existing is None:
            raise
        return _duplicate(db, project, existing, prepared, attach)
    except BaseException:
        _forget_blob(db, blobs, sha256, created)
        raise
    return IngestResult(image_id, sha256, False)


def _duplicate(
    db: Database, project: Project, image_id: str, p: PreparedImage, attach: Attach | None
) -> IngestResult:
    """Known bytes: nothing new is stored but ``attach``'s rows and, when the upload carries
    predictions of a model version the image has none of yet, those predictions (a retry of the same
    version leaves the stored ones as they are; predictions without a version are dropped, as the
    image's own are not told apart from them)."""
    # A ``predictions`` field of a version, even an empty one (the version found nothing there).
    version = p.fields.model_version if p.fields.predictions is not None else None
    added: int | None = None
    if attach is None and not version:
        return IngestResult(image_id, p.sha256, True)
    with db.write_engine.begin() as conn:
        if version:
            lock_hashes(conn, [p.sha256])
            limits = p.limits.class_limits
            added = write_version(
                conn, project, image_id, p.boxes, version, replace=False, made_by=UPLOAD, class_limits=limits
            )
        if attach is not None:
            attach(conn, image_id, True)
    return IngestResult(image_id, p.sha256, True, added or 0)


def _insert_rows(conn: Connection, project: Project, image_id: str, now: datetime, p: PreparedImage) -> None:
    """The image row (its facts, then every column field of `UploadFields`), its tags and pre-labels."""
    boxes, fields, class_limits = p.boxes, p.fields, p.limits.class_limits
    if boxes:
        learn_new_classes(conn, project, [b.class_name for b in boxes], class_limits)
    row = {
        "id": image_id,
        "project_id": project.id,
        "sha256": p.sha256,
        "content_type": p.info.content_type,
        "size_bytes": len(p.data),
        "width": p.info.width,
        "height": p.info.height,
        "batch_id": _batch_id(conn, project.id, fields.batch),
        "observed_at": p.observed_at,
        "created_at": now,
        **{spec.name: getattr(fields, spec.name) for spec in COLUMN_FIELDS},
    }
    conn.execute(_INSERT_IMAGE, row)
    if fields.tags:
        conn.execute(_INSERT_TAG, [{"image_id": image_id, "name": t} for t in fields.tags])
    if boxes:
        rows = row_values(boxes, image_id, PREDICTION, fields.model_version, now)
        conn.execute(INSERT_ANNOTATION, rows)
    if fields.predictions is not None and fields.model_version:  # even none found: the version saw it
        record_run(conn, image_id, fields.model_version, len(boxes), UPLOAD)


def _forget_blob(db: Database, blobs: BlobStore, sha256: str, created: bool) -> None:
    """Remove a blob this request created if no committed record refers to it.

    Checked and removed in a write transaction of its own holding the hash's lock (`lock_hashes`;
    on SQLite ``BEGIN IMMEDIATE``): a concurrent upload of the same bytes has then either committed
    its row (the blob stays) or not yet written the blob (it writes it again). A database that
    cannot be reached leaves the blob as an orphan for ``framescout doctor``."""
    if not created:
        return
    with contextlib.suppress(SQLAlchemyError), db.write_engine.begin() as conn:
        lock_hashes(conn, [sha256])
        if not conn.execute(select(exists().where(_IMAGES.c.sha256 == sha256))).scalar():
            blobs.delete(sha256)


def _extension(content_type: str) -> str:
    return {
        "image/jpeg": ".jpg",
        "image/png": ".png",
        "image/webp": ".webp",
        "image/tiff": ".tif",
        "image/bmp": ".bmp",
        "image/gif": ".gif",
    }.get(content_type, ".img")
