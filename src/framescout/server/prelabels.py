"""Pre-labels for images the official ``roboflow`` package uploads right after hosted inference.

``workspace.active_learning()`` sends each image to hosted inference, then uploads the ones that meet
its conditionals as bare images (no predictions). Every hosted-inference answer is therefore kept for
`WINDOW` (table ``recent_inferences``), and an upload through the Roboflow-compatible route of the same
image, in the same workspace, within that window gets those predictions as pre-labels, with the
model's version (``project/version``).

Kept in the database, not in a per-process cache: with several API workers the inference and the
upload are separate requests that may reach different workers. The table is bounded by time (rows
older than `WINDOW` are deleted on every insert) and by size (`MAX_ROWS`, the newest are kept).

"The same image": roboflow re-encodes a local file as PNG before inference but uploads the original
file, so the bytes differ. Rows are keyed by the SHA-256 of the bytes *and* of the decoded pixels
(EXIF orientation applied, as RGB, with the size), so both the same bytes and the same pixels in
another encoding match; the upload is decoded for this only when a row of the same size exists.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from PIL import Image as PILImage

from framescout.imaging import ImageError, decode_image, inspect_image, sha256_hex
from framescout.predictions import Predictions, PredictionsError
from framescout.store.accounts import ClassLimits, new_classes
from framescout.store.db import Database
from framescout.store.errors import StoreError
from framescout.store.models import Project, Workspace, utcnow
from framescout.store.recent_inferences import keep_answer, recent_answers

log = logging.getLogger("framescout.server.prelabels")

WINDOW = timedelta(minutes=10)
"""How long after hosted inference an upload of the same image still gets its predictions."""
MAX_ROWS = 10_000
"""At most this many answers are kept (all workspaces together); older ones are deleted first."""


def pixels_sha256(image: PILImage.Image) -> str:
    """SHA-256 of a decoded image's size and RGB pixels (the same for any lossless encoding)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    digest = hashlib.sha256(f"{rgb.width}x{rgb.height}:".encode())
    digest.update(rgb.tobytes())
    return digest.hexdigest()


def remember(
    db: Database,
    workspace: Workspace,
    model: str,
    data: bytes,
    decoded: PILImage.Image,
    payload: dict[str, Any],
    *,
    now: datetime | None = None,
) -> None:
    """Keep one hosted-inference answer (``payload``: Roboflow JSON) for `WINDOW`; expire old ones."""
    now = now or utcnow()
    row = {
        "workspace_id": workspace.id,
        "model": model,
        "bytes_sha256": sha256_hex(data),
        "pixels_sha256": pixels_sha256(decoded),
        "width": decoded.width,
        "height": decoded.height,
        "predictions": {"predictions": payload["predictions"], "image": payload["image"]},
        "created_at": now,
    }
    keep_answer(db, row, expire_before=now - WINDOW, max_rows=MAX_ROWS)


@dataclass(frozen=True)
class Prelabels:
    """A recent hosted-inference answer for an uploaded image."""

    model: str
    predictions: Predictions
    inferred_at: datetime
    matched: str  # "bytes" or "pixels"


def recall(
    db: Database, workspace: Workspace, data: bytes, *, now: datetime | None = None
) -> Prelabels | None:
    """The newest answer for these bytes (or these pixels) in ``workspace`` within `WINDOW`."""
    now = now or utcnow()
    try:
        info = inspect_image(data)
    except ImageError:
        return None  # the upload itself will be refused with the reason
    digest = sha256_hex(data)
    rows = recent_answers(
        db, workspace, bytes_sha256=digest, width=info.width, height=info.height, since=now - WINDOW
    )
    found = next((r for r in rows if r.bytes_sha256 == digest), None)
    matched = "bytes"
    if found is None and rows:
        try:
            pixels = pixels_sha256(decode_image(data))
        except ImageError:
            return None
        found = next((r for r in rows if r.pixels_sha256 == pixels), None)
        matched = "pixels"
    if found is None:
        return None
    try:
        predictions = Predictions.from_roboflow(found.predictions)
    except PredictionsError:  # written by this module; never expected
        log.warning("a kept hosted-inference answer could not be read; upload stored without pre-labels")
        return None
    return Prelabels(found.model, predictions, found.created_at, matched)


def usable(prelabels: Prelabels, project: Project, limits: ClassLimits) -> Predictions | None:
    """The pre-labels as the destination project can take them (`fit_to_project`)."""
    return fit_to_project(prelabels.predictions, project, limits)


def fit_to_project(predictions: Predictions, project: Project, limits: ClassLimits) -> Predictions | None:
    """Predictions as ``project`` can take them: boxes of classes a fixed class list does not have are
    dropped; ``None`` when adding their classes would break the project's class caps (the image is
    then stored without pre-labels, never refused because of them). Label assist uses it too."""
    if project.strict_classes:
        known = set(project.classes)
        keep = np.fromiter((name in known for name in predictions.class_name), dtype=bool)
        predictions = predictions[keep]
    else:
        try:
            new_classes(project.classes, list(predictions.class_name), limits)
        except StoreError:
            return None
    return predictions
