"""Checks every upload field, box and class list passes before anything is written (all raise
`Invalid` with a stable code)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from framescout import jsontext, upload_fields
from framescout.imaging import ImageError
from framescout.predictions.box import Box
from framescout.store.errors import Invalid, StoreError, TooLarge, Unsupported
from framescout.store.models import Project
from framescout.upload_fields import FieldError, UploadFields

MAX_METADATA_BYTES = 64 * 1024
MAX_SQL_INT = 2**63 - 1
"""The largest integer a query parameter may carry into SQL (SQLite integers are signed 64-bit)."""
MAX_BOXES_PER_IMAGE = 1000
"""Boxes per image and kind, on every route (annotation uploads, upload predictions, reviews): the
review page draws and saves back every box, and stays small (~150 KB) at this cap."""
P = ParamSpec("P")
R = TypeVar("R")
_IMAGE_KINDS: dict[str, type[StoreError]] = {
    "too_large": TooLarge,
    "not_an_image": Unsupported,
    "unsupported_format": Unsupported,
}


def _as_invalid(check: Callable[P, R]) -> Callable[P, R]:
    """The upload-field check ``check`` raising the store's `Invalid` (what the API answers 422)."""

    @functools.wraps(check)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return check(*args, **kwargs)
        except FieldError as exc:
            raise Invalid(exc.code, exc.message) from None

    return checked


check_name = _as_invalid(upload_fields.check_name)
check_split = _as_invalid(upload_fields.check_split)
check_tags = _as_invalid(upload_fields.check_tags)
check_text = _as_invalid(upload_fields.check_text)


def checked_fields(fields: UploadFields) -> UploadFields:
    """``fields`` with every field checked (`UploadFields.checked`), refusals as `Invalid`."""
    return _as_invalid(fields.checked)()


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
    """A decoding error as the store's error of its kind (too large, unsupported, else invalid)."""
    return _IMAGE_KINDS.get(exc.code, Invalid)(exc.code, str(exc))


UnknownClasses = Callable[[Sequence[str], Project], Invalid]
"""Builds the ``unknown_class`` refusal from the unknown names and the project (`unknown_classes`)."""


def check_boxes(
    boxes: Sequence[Box],
    width: int,
    height: int,
    project: Project,
    *,
    learn: bool,
    unknown_error: UnknownClasses | None = None,
) -> list[Box]:
    """Refuse unknown classes (projects created with a class list) and boxes outside the image.

    Coordinates within a small tolerance (1 px + 0.5%) of the border are clipped, not refused.
    ``unknown_error`` words the refusal of unknown classes (default `unknown_classes`)."""
    check_box_count(len(boxes))
    known = set(project.classes)
    unknown = sorted({b.class_name for b in boxes if b.class_name not in known})
    if unknown and (project.strict_classes or not learn):
        raise (unknown_error or unknown_classes)(unknown, project)
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
    """`Invalid` ``too_many_boxes`` past `MAX_BOXES_PER_IMAGE` (checked before any per-box work)."""
    if count > MAX_BOXES_PER_IMAGE:
        raise Invalid(
            "too_many_boxes", f"{count:,} boxes for one image; at most {MAX_BOXES_PER_IMAGE:,} per image"
        )


def unknown_classes(unknown: Sequence[str], project: Project) -> Invalid:
    shown = ", ".join(repr(n) for n in list(project.classes)[:20])
    more = f" and {len(project.classes) - 20:,} more" if len(project.classes) > 20 else ""
    return Invalid(
        "unknown_class",
        f"unknown class(es) {list(unknown)[:20]}; project {project.slug!r} has classes [{shown}]{more}",
    )
