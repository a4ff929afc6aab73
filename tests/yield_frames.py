"""Frames for the rule-yield and review-order tests: real images ingested into a real store, with the
predictions of a model version, and extra predictions of another version as the store keeps them."""

from __future__ import annotations

import io
from datetime import datetime

from PIL import Image
from sqlalchemy import update

from framescout import Predictions
from framescout.predictions.box import Box
from framescout.store import Store
from framescout.store.annotations import annotation_rows
from framescout.store.ingest import ImageFields, ingest_image
from framescout.store.models import PREDICTION, Project
from framescout.store.models import Image as ImageRow

WIDTH, HEIGHT = 200, 100


def frame(
    store: Store,
    proj: Project,
    seed: int,
    predicted: list[Box],
    *,
    rule: str | None = None,
    version: str | None = None,
    at: datetime | None = None,
) -> str:
    """Ingest a real PNG kept by ``rule`` with ``predicted`` as ``version``'s predictions; its id."""
    out = io.BytesIO()
    Image.new("RGB", (WIDTH, HEIGHT), (seed % 256, seed * 7 % 256, seed * 13 % 256)).save(out, format="PNG")
    predictions = Predictions.from_arrays(
        [[b.x_min, b.y_min, b.x_max, b.y_max] for b in predicted],
        [b.confidence if b.confidence is not None else 0.5 for b in predicted],
        [0] * len(predicted),
        class_name=[b.class_name for b in predicted],
    )
    fields = ImageFields(
        predictions=predictions if predicted else None, sampling_rule=rule, model_version=version
    )
    image_id = ingest_image(store.db, store.blobs, proj, out.getvalue(), fields).id
    if at is not None:
        with store.db.writing() as session:
            session.execute(update(ImageRow).where(ImageRow.id == image_id).values(created_at=at))
    return image_id


def predict(store: Store, image_id: str, version: str, boxes: list[Box]) -> None:
    """Add ``version``'s predictions to a stored frame, as rows of that version beside the others."""
    with store.db.writing() as session:
        for row in annotation_rows(boxes, PREDICTION, version):
            row.image_id = image_id
            session.add(row)
