"""Image ingest (validate, dedupe by content hash, store blob + rows atomically), annotations and queries.

Bad input is refused before anything is written; a blob written for an upload that then fails is
removed again unless another record references the same bytes, so a failure leaves nothing behind.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from framescout import jsontext
from framescout.imaging import (
    MAX_BYTES,
    MAX_PIXELS,
    ImageError,
    ImageInfo,
    inspect_image,
    sha256_hex,
    verify_image,
)
from framescout.predictions import Predictions
from framescout.store.accounts import DEFAULT_CLASS_LIMITS, ClassLimits, new_classes
from framescout.store.blobs import BlobStore
from framescout.store.db import Database
from framescout.store.errors import Conflict, Invalid, NotFound, StoreError
from framescout.store.models import (
    ANNOTATION_KINDS,
    GROUND_TRUTH,
    PREDICTION,
    SPLITS,
    Annotation,
    Base,
    Batch,
    Image,
    ImageTag,
    Project,
    new_id,
    utcnow,
)
from framescout.store.provenance import observed_time, upload_source

MAX_NAME = 255
MAX_TAG = 100
MAX_TAGS = 50
MAX_METADATA_BYTES = 64 * 1024
MAX_TEXT = 1000
MAX_SQL_INT = 2**63 - 1
"""The largest integer a query parameter may carry into SQL (SQLite integers are signed 64-bit)."""
MAX_BOXES_PER_IMAGE = 1000
"""Boxes per image and kind, on every route (annotation uploads, upload predictions, reviews): the
review page draws and saves back every box, and stays small (~150 KB) at this cap."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_IMAGE_STATUS = {"too_large": 413, "not_an_image": 415, "unsupported_format": 415, "empty": 422}


@dataclass(frozen=True)
class Box:
    """One box in pixels of the (EXIF-oriented) image; ``confidence`` only for predictions."""

    class_name: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float
    confidence: float | None = None
    iscrowd: bool = False
    """COCO's crowd flag (ground truth from a COCO file); False everywhere else."""


@dataclass
class ImageFields:
    """Everything an upload may carry besides the bytes (already parsed, not yet validated)."""

    name: str | None = None
    split: str | None = None
    batch: str | None = None
    tags: Sequence[str] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    predictions: Predictions | None = None
    sampling_rule: str | None = None
    sampling_reason: str | None = None
    model_version: str | None = None
    device_id: str | None = None
    source_url: str | None = None
    source: str | None = None
    """The route's word on where the upload came from (`framescout.store.provenance`); else derived."""


@dataclass(frozen=True)
class IngestResult:
    id: str
    sha256: str
    duplicate: bool


@dataclass
class ImageFilter:
    """Listing filters; ``None`` means "any"."""

    batch: str | None = None
    tag: str | None = None
    split: str | None = None
    sampling_rule: str | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    labelled: bool | None = None
    device_id: str | None = None
    model_version: str | None = None
    review_status: str | None = None
    """``pending`` (not reviewed yet), ``reviewed`` or ``rejected``."""


REVIEW_FILTERS = ("pending", "reviewed", "rejected")


# ---------------------------------------------------------------------------------------- validation
def check_name(name: str) -> str:
    """A plain file name: no path separators, no ``..``, no control characters."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise Invalid("invalid_name", f"the file name must be 1-{MAX_NAME} characters")
    if "/" in name or "\\" in name or name in (".", "..") or ".." in name.split(".") or _CONTROL.search(name):
        raise Invalid(
            "invalid_name", f"the file name {name!r} contains a path separator, '..' or control characters"
        )
    return name


def check_split(split: str | None) -> str | None:
    if split in (None, ""):
        return None
    if split not in SPLITS:
        raise Invalid("invalid_split", f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    return split


def check_tags(tags: Sequence[str]) -> list[str]:
    clean: dict[str, None] = {}
    for raw in tags:
        tag = raw.strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG or _CONTROL.search(tag):
            raise Invalid(
                "invalid_tag", f"tag {tag[:40]!r} is longer than {MAX_TAG} or has control characters"
            )
        clean.setdefault(tag, None)
    if len(clean) > MAX_TAGS:
        raise Invalid("too_many_tags", f"at most {MAX_TAGS} tags per image")
    return list(clean)


def check_text(value: str | None, what: str, limit: int = MAX_TEXT, *, multiline: bool = False) -> str | None:
    """A free-text field within ``limit`` characters and without control characters (tabs and line
    breaks are allowed in ``multiline`` text such as a comment)."""
    if value in (None, ""):
        return None
    assert value is not None
    if len(value) > limit:
        raise Invalid(f"invalid_{what}", f"{what} is longer than {limit} characters")
    if (_CONTROL_IN_TEXT if multiline else _CONTROL).search(value):
        raise Invalid(f"invalid_{what}", f"{what} contains control characters")
    return value


def parse_metadata(text: str | None) -> dict[str, Any]:
    """Metadata as JSON object text (≤ 64 KiB, nested ≤ 64 levels; `framescout.jsontext`)."""
    if text in (None, ""):
        return {}
    assert text is not None
    value = jsontext.loads(
        text, "metadata", max_bytes=MAX_METADATA_BYTES, too_large_code="metadata_too_large"
    )
    if not isinstance(value, dict):
        raise Invalid("invalid_metadata", "metadata must be a JSON object")
    return value


def image_error(exc: ImageError) -> StoreError:
    """Map a decoding error to the API error (413 too big, 415 not an image, 422 otherwise)."""
    return StoreError(exc.code, str(exc), status=_IMAGE_STATUS.get(exc.code, 422))


def boxes_from_predictions(predictions: Predictions) -> list[Box]:
    return [
        Box(name, float(xyxy[0]), float(xyxy[1]), float(xyxy[2]), float(xyxy[3]), float(conf))
        for xyxy, conf, name in zip(
            predictions.xyxy.tolist(), predictions.confidence.tolist(), predictions.class_name, strict=True
        )
    ]


def check_boxes(boxes: Sequence[Box], width: int, height: int, project: Project, *, learn: bool) -> list[Box]:
    """Refuse unknown classes (projects created with a class list) and boxes outside the image.

    Coordinates within a small tolerance (1 px + 0.5%) of the border are clipped, not refused."""
    check_box_count(len(boxes))
    known = set(project.classes)
    unknown = sorted({b.class_name for b in boxes if b.class_name not in known})
    if unknown and (project.strict_classes or not learn):
        raise _unknown_classes(unknown, project)
    tol_x, tol_y = 1 + 0.005 * width, 1 + 0.005 * height
    clean = []
    for i, b in enumerate(boxes):
        coords = (b.x_min, b.y_min, b.x_max, b.y_max)
        if not all(math.isfinite(c) for c in coords):
            raise Invalid("invalid_box", f"box {i} has a non-finite coordinate")
        if b.x_max <= b.x_min or b.y_max <= b.y_min:
            raise Invalid("invalid_box", f"box {i} ({b.class_name}) has zero or negative width or height")
        if b.x_min < -tol_x or b.y_min < -tol_y or b.x_max > width + tol_x or b.y_max > height + tol_y:
            raise Invalid(
                "box_outside_image",
                f"box {i} ({b.class_name}) [{b.x_min:.1f}, {b.y_min:.1f}, {b.x_max:.1f}, {b.y_max:.1f}] "
                f"lies outside the {width}x{height} image",
            )
        if b.confidence is not None and not 0.0 <= b.confidence <= 1.0:
            raise Invalid("invalid_confidence", f"box {i} has confidence {b.confidence} outside [0, 1]")
        clean.append(
            Box(
                b.class_name,
                min(max(b.x_min, 0.0), width),
                min(max(b.y_min, 0.0), height),
                min(max(b.x_max, 0.0), width),
                min(max(b.y_max, 0.0), height),
                b.confidence,
                b.iscrowd,
            )
        )
    return clean


def check_box_count(count: int) -> None:
    """422 ``too_many_boxes`` past `MAX_BOXES_PER_IMAGE` (checked before any per-box work)."""
    if count > MAX_BOXES_PER_IMAGE:
        raise Invalid(
            "too_many_boxes", f"{count:,} boxes for one image; at most {MAX_BOXES_PER_IMAGE:,} per image"
        )


def _unknown_classes(unknown: Sequence[str], project: Project) -> Invalid:
    shown = ", ".join(repr(n) for n in list(project.classes)[:20])
    more = f" and {len(project.classes) - 20:,} more" if len(project.classes) > 20 else ""
    return Invalid(
        "unknown_class",
        f"unknown class(es) {list(unknown)[:20]}; project {project.slug!r} has classes [{shown}]{more}",
    )


def _row_values(
    boxes: Sequence[Box], image_id: str, kind: str, model_version: str | None, now: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "image_id": image_id,
            "kind": kind,
            "position": i,
            "class_name": b.class_name,
            "x_min": b.x_min,
            "y_min": b.y_min,
            "x_max": b.x_max,
            "y_max": b.y_max,
            "confidence": b.confidence if kind == PREDICTION else None,
            "model_version": model_version if kind == PREDICTION else None,
            "created_at": now,
            "iscrowd": b.iscrowd,
        }
        for i, b in enumerate(boxes)
    ]


def annotation_rows(
    boxes: Sequence[Box],
    kind: str,
    model_version: str | None = None,
    *,
    created_by: str | None = None,
    created_at: datetime | None = None,
) -> list[Annotation]:
    """ORM rows for ``boxes`` (confidence and model version are kept for predictions only)."""
    return [
        Annotation(
            kind=kind,
            position=i,
            class_name=b.class_name,
            x_min=b.x_min,
            y_min=b.y_min,
            x_max=b.x_max,
            y_max=b.y_max,
            confidence=b.confidence if kind == PREDICTION else None,
            model_version=model_version if kind == PREDICTION else None,
            created_by=created_by,
            created_at=created_at or utcnow(),
            iscrowd=b.iscrowd,
        )
        for i, b in enumerate(boxes)
    ]


# ---------------------------------------------------------------------------------------- ingest
# Statements built once: constructing SQLAlchemy statements per request costs more than running them.
_IMAGES = Base.metadata.tables["images"]
_FIND_DUPLICATE = select(_IMAGES.c.id).where(
    _IMAGES.c.project_id == bindparam("project_id"), _IMAGES.c.sha256 == bindparam("sha256")
)
_INSERT_IMAGE = insert(_IMAGES)
_INSERT_TAG = insert(Base.metadata.tables["image_tags"])
_INSERT_ANNOTATION = insert(Base.metadata.tables["annotations"])


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


def learn_new_classes(conn: Connection, project: Project, names: Sequence[str], limits: ClassLimits) -> None:
    """Inside the write transaction: re-read the project's classes and append the new ones.

    Sets, not list scans, and only the class list is rewritten (capped by ``limits``), so this
    stays a few milliseconds however many boxes or classes the request carries."""
    row = conn.execute(
        select(Project.classes, Project.strict_classes).where(Project.id == project.id)
    ).one_or_none()
    if row is None:
        raise NotFound("project_not_found", f"project {project.slug!r} no longer exists")
    current: list[str] = list(row.classes)
    if row.strict_classes:
        known = set(current)
        unknown = sorted({n for n in names if n not in known})
        if unknown:
            raise _unknown_classes(unknown, Project(slug=project.slug, classes=current))
        return
    new = new_classes(current, names, limits)
    if new:
        conn.execute(
            update(Project)
            .where(Project.id == project.id)
            .values(classes=[*current, *new], updated_at=utcnow())
        )


@dataclass(frozen=True)
class _Checked:
    """An upload's fields after validation (what the rows are built from)."""

    sha256: str
    size_bytes: int
    name: str
    content_type: str
    width: int
    height: int
    split: str | None
    batch: str | None
    tags: list[str]
    metadata: dict[str, Any]
    sampling_rule: str | None
    sampling_reason: str | None
    model_version: str | None
    device_id: str | None
    source_url: str | None
    observed_at: datetime | None = None
    source: str | None = None


Attach = Callable[[Connection, str, bool], None]
"""Writes more rows about an ingested image (a report, tags) inside the image's own write transaction:
called with the connection, the image id and whether the bytes were a duplicate; raising rolls
everything back (and removes a blob this upload created)."""


@dataclass(frozen=True)
class PreparedImage:
    """An upload after every check that does not need the pixels (nothing written yet)."""

    data: bytes
    info: ImageInfo
    checked: _Checked
    boxes: list[Box]

    @property
    def sha256(self) -> str:
        return self.checked.sha256


def prepare_image(
    project: Project,
    data: bytes,
    fields: ImageFields,
    *,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
    class_limits: ClassLimits = DEFAULT_CLASS_LIMITS,
) -> PreparedImage:
    """Validate every field, the header (byte and pixel caps) and the predictions against the image's
    size: all that a duplicate must pass too, so ``split=bogus`` is refused for known bytes as well."""
    sha256 = sha256_hex(data)
    try:
        info = inspect_image(data, max_pixels=max_pixels, max_bytes=max_bytes)
    except ImageError as exc:
        raise image_error(exc) from None
    checked = _Checked(
        sha256=sha256,
        size_bytes=len(data),
        name=check_name(fields.name) if fields.name else f"{sha256[:16]}{_extension(info.content_type)}",
        content_type=info.content_type,
        width=info.width,
        height=info.height,
        split=check_split(fields.split),
        batch=check_text(fields.batch, "batch", 200),
        tags=check_tags(fields.tags),
        metadata=fields.metadata,
        sampling_rule=check_text(fields.sampling_rule, "sampling_rule", 200),
        sampling_reason=check_text(fields.sampling_reason, "sampling_reason"),
        model_version=check_text(fields.model_version, "model_version", 200),
        device_id=check_text(fields.device_id, "device_id", 200),
        source_url=fields.source_url,
        observed_at=observed_time(fields.metadata),
        source=upload_source(fields.source, fields.metadata),
    )
    boxes: list[Box] = []
    if fields.predictions is not None:
        check_box_count(len(fields.predictions))
        boxes = check_boxes(
            boxes_from_predictions(fields.predictions), info.width, info.height, project, learn=True
        )
        new_classes(project.classes, [b.class_name for b in boxes], class_limits)  # early refusal
    return PreparedImage(data, info, checked, boxes)


def ingest_image(
    db: Database,
    blobs: BlobStore,
    project: Project,
    data: bytes,
    fields: ImageFields,
    *,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
    class_limits: ClassLimits = DEFAULT_CLASS_LIMITS,
    attach: Attach | None = None,
) -> IngestResult:
    """Store one image in ``project`` unless the same bytes are already there (then answer duplicate).

    Everything is validated first (`prepare_image`, then for new bytes `verify_image`: OpenCV and
    Pillow must decode them). The hot path uses Core statements on plain connections: one read for
    the duplicate check, one short ``BEGIN IMMEDIATE`` transaction for the blob, the rows and
    whatever ``attach`` adds (feedback and bug reports come through here too)."""
    prepared = prepare_image(
        project, data, fields, max_pixels=max_pixels, max_bytes=max_bytes, class_limits=class_limits
    )
    return store_prepared(
        db,
        blobs,
        project,
        prepared,
        max_pixels=max_pixels,
        max_bytes=max_bytes,
        class_limits=class_limits,
        attach=attach,
    )


def store_prepared(
    db: Database,
    blobs: BlobStore,
    project: Project,
    prepared: PreparedImage,
    *,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
    class_limits: ClassLimits = DEFAULT_CLASS_LIMITS,
    attach: Attach | None = None,
) -> IngestResult:
    """The write half of `ingest_image`, for an upload `prepare_image` accepted."""
    sha256, data, checked, boxes = prepared.sha256, prepared.data, prepared.checked, prepared.boxes
    with db.read_engine.connect() as conn:
        existing = find_duplicate(conn, project.id, sha256)
    if existing is not None:  # the same bytes passed verify_image when they were stored
        return _duplicate(db, existing, sha256, attach)
    try:
        verify_image(data, max_pixels=max_pixels, max_bytes=max_bytes, info=prepared.info)
    except ImageError as exc:
        raise image_error(exc) from None

    image_id = new_id()
    now = utcnow()
    created = False
    try:
        # The blob is written inside the write transaction: with SQLite's BEGIN IMMEDIATE every writer
        # (in every worker process) is serialised here, so a failed upload can remove the blob it created
        # without racing a concurrent upload of the same bytes that is about to reference it.
        with db.write_engine.begin() as conn:
            _, created = blobs.put(data)
            try:
                _insert_rows(conn, project, image_id, now, checked, boxes, class_limits)
                if attach is not None:
                    attach(conn, image_id, False)
            except BaseException:
                _forget_blob(db, blobs, sha256, created)
                created = False
                raise
    except IntegrityError:  # a concurrent twin won the unique (project, sha256) index
        with db.read_engine.connect() as conn:
            existing = find_duplicate(conn, project.id, sha256)
        if existing is None:
            raise
        return _duplicate(db, existing, sha256, attach)
    except BaseException:
        _forget_blob(db, blobs, sha256, created)  # the commit itself failed
        raise
    return IngestResult(image_id, sha256, False)


def _duplicate(db: Database, image_id: str, sha256: str, attach: Attach | None) -> IngestResult:
    if attach is not None:
        with db.write_engine.begin() as conn:
            attach(conn, image_id, True)
    return IngestResult(image_id, sha256, True)


def _insert_rows(
    conn: Connection,
    project: Project,
    image_id: str,
    now: datetime,
    c: _Checked,
    boxes: list[Box],
    class_limits: ClassLimits,
) -> None:
    if boxes:
        learn_new_classes(conn, project, [b.class_name for b in boxes], class_limits)
    row = {
        "id": image_id,
        "project_id": project.id,
        "sha256": c.sha256,
        "name": c.name,
        "content_type": c.content_type,
        "size_bytes": c.size_bytes,
        "width": c.width,
        "height": c.height,
        "split": c.split,
        "batch_id": _batch_id(conn, project.id, c.batch),
        "metadata": c.metadata,
        "sampling_rule": c.sampling_rule,
        "sampling_reason": c.sampling_reason,
        "model_version": c.model_version,
        "device_id": c.device_id,
        "source_url": c.source_url,
        "observed_at": c.observed_at,
        "source": c.source,
        "created_at": now,
    }
    conn.execute(_INSERT_IMAGE, row)
    if c.tags:
        conn.execute(_INSERT_TAG, [{"image_id": image_id, "name": t} for t in c.tags])
    if boxes:
        conn.execute(_INSERT_ANNOTATION, _row_values(boxes, image_id, PREDICTION, c.model_version, now))


def _forget_blob(db: Database, blobs: BlobStore, sha256: str, created: bool) -> None:
    """Remove a blob this request created if no committed record refers to it."""
    if not created:
        return
    with db.read_engine.connect() as conn:
        referenced = conn.execute(select(exists().where(_IMAGES.c.sha256 == sha256))).scalar()
    if not referenced:
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


# ---------------------------------------------------------------------------------------- annotations
def save_annotations(
    db: Database,
    project: Project,
    image_id: str,
    boxes: Sequence[Box],
    *,
    kind: str = GROUND_TRUTH,
    overwrite: bool = False,
    model_version: str | None = None,
    learn_classes: bool = True,
    class_limits: ClassLimits = DEFAULT_CLASS_LIMITS,
) -> int:
    """Replace (``overwrite``) or set the image's annotations of one kind; return the number stored.

    The boxes and the class caps are checked against a read snapshot first, outside the write lock;
    the write transaction then only re-checks classes (sets), deletes and bulk-inserts."""
    if kind not in ANNOTATION_KINDS:
        raise Invalid("invalid_kind", f"kind must be one of {ANNOTATION_KINDS}; got {kind!r}")
    check_box_count(len(boxes))
    with db.reading() as session:
        image = get_image(session, project, image_id)
        fresh = session.get(Project, project.id)
        if fresh is None:
            raise NotFound("project_not_found", f"project {project.slug!r} no longer exists")
    clean = check_boxes(boxes, image.width, image.height, fresh, learn=learn_classes)
    names = [b.class_name for b in clean]
    if learn_classes and not fresh.strict_classes:
        new_classes(fresh.classes, names, class_limits)  # refuse early; re-checked below
    rows = _row_values(clean, image.id, kind, model_version, utcnow())
    has_kind = exists().where(Annotation.image_id == image.id, Annotation.kind == kind)
    with db.write_engine.begin() as conn:
        if not overwrite and conn.execute(select(has_kind)).scalar():
            raise Conflict(
                "already_annotated", f"image {image_id} already annotated ({kind}); pass overwrite"
            )
        if names and learn_classes:
            learn_new_classes(conn, project, names, class_limits)
        conn.execute(delete(Annotation).where(Annotation.image_id == image.id, Annotation.kind == kind))
        if rows:
            conn.execute(_INSERT_ANNOTATION, rows)
    return len(clean)


def list_annotations(session: Session, image_id: str, kind: str | None = None) -> list[Annotation]:
    query = select(Annotation).where(Annotation.image_id == image_id)
    if kind is not None:
        query = query.where(Annotation.kind == kind)
    return list(session.scalars(query.order_by(Annotation.kind, Annotation.position)))


# ---------------------------------------------------------------------------------------- queries
def get_image(session: Session, project: Project, image_id: str) -> Image:
    image = session.scalar(select(Image).where(Image.id == image_id, Image.project_id == project.id))
    if image is None:
        raise NotFound("image_not_found", f"no image {image_id!r} in project {project.slug!r}")
    return image


def filtered_query(project: Project, f: ImageFilter) -> Select[Image]:
    """The images of ``project`` that match ``f`` (unordered)."""
    query = select(Image).where(Image.project_id == project.id)
    if f.split is not None:
        query = query.where(Image.split == f.split)
    if f.sampling_rule is not None:
        query = query.where(Image.sampling_rule == f.sampling_rule)
    if f.device_id is not None:
        query = query.where(Image.device_id == f.device_id)
    if f.model_version is not None:
        query = query.where(Image.model_version == f.model_version)
    if f.batch is not None:
        query = query.where(
            Image.batch_id.in_(select(Batch.id).where(Batch.project_id == project.id, Batch.name == f.batch))
        )
    if f.tag is not None:
        query = query.where(exists().where(ImageTag.image_id == Image.id, ImageTag.name == f.tag))
    if f.review_status is not None:
        if f.review_status not in REVIEW_FILTERS:
            raise Invalid(
                "invalid_status",
                f"status must be one of {', '.join(REVIEW_FILTERS)}; got {f.review_status!r}",
            )
        query = query.where(
            Image.review_status.is_(None)
            if f.review_status == "pending"
            else Image.review_status == f.review_status
        )
    if f.labelled is not None:
        labelled = exists().where(Annotation.image_id == Image.id, Annotation.kind == GROUND_TRUTH)
        query = query.where(labelled if f.labelled else ~labelled)
    if f.min_confidence is not None or f.max_confidence is not None:
        conds = [Annotation.image_id == Image.id, Annotation.kind == PREDICTION]
        if f.min_confidence is not None:
            conds.append(Annotation.confidence >= f.min_confidence)
        if f.max_confidence is not None:
            conds.append(Annotation.confidence <= f.max_confidence)
        query = query.where(exists().where(and_(*conds)))
    return query


def query_images(
    session: Session, project: Project, f: ImageFilter, *, limit: int = 100, offset: int = 0
) -> tuple[list[Image], int]:
    """A page of images matching ``f`` (newest first) and the total count."""
    query = filtered_query(project, f)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Image.created_at.desc(), Image.id).limit(limit).offset(offset))
    return list(rows), int(total)


def count_images(session: Session, project: Project) -> dict[str, int]:
    """Counts for Roboflow's project summary: total, per split, unannotated."""
    total = session.scalar(select(func.count()).where(Image.project_id == project.id)) or 0
    splits = dict(
        session.execute(
            select(Image.split, func.count()).where(Image.project_id == project.id).group_by(Image.split)
        ).all()
    )
    labelled = exists().where(Annotation.image_id == Image.id, Annotation.kind == GROUND_TRUTH)
    unannotated = session.scalar(select(func.count()).where(Image.project_id == project.id, ~labelled)) or 0
    return {
        "total": int(total),
        "train": int(splits.get("train", 0)),
        "valid": int(splits.get("valid", 0)),
        "test": int(splits.get("test", 0)),
        "unannotated": int(unannotated),
    }


def list_batches(session: Session, project: Project) -> list[tuple[Batch, int]]:
    rows = session.execute(
        select(Batch, func.count(Image.id))
        .outerjoin(Image, Image.batch_id == Batch.id)
        .where(Batch.project_id == project.id)
        .group_by(Batch.id)
        .order_by(Batch.created_at)
    ).all()
    return [(b, int(n)) for b, n in rows]
