"""Frames for the rule-yield and review-order tests: real images ingested into a real store with the
predictions of a model version, and other versions' predictions added through the predictions route."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from PIL import Image
from sqlalchemy import update

from framescout import Predictions
from framescout.predictions.box import Box
from framescout.store import Store
from framescout.store.ingest import ImageFields, ingest_image
from framescout.store.models import Image as ImageRow
from framescout.store.models import Project

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


def predict(client: Any, headers: dict[str, str], image_id: str, version: str, boxes: list[Box]) -> None:
    """Store ``version``'s predictions of a stored frame through the predictions route (Roboflow boxes;
    none: the version ran and found nothing)."""
    wire = [
        {
            "x": (b.x_min + b.x_max) / 2,
            "y": (b.y_min + b.y_max) / 2,
            "width": b.width,
            "height": b.height,
            "class": b.class_name,
            "confidence": b.confidence if b.confidence is not None else 0.5,
        }
        for b in boxes
    ]
    body = {"model_version": version, "predictions": wire}
    response = client.post(
        f"/api/v1/projects/acme/cams/images/{image_id}/predictions", json=body, headers=headers
    )
    assert response.status_code == 201, response.text
