"""Predictions of one model version for a stored image: ``POST .../images/{id}/predictions``.

Replaces that version's predictions only (`framescout.store.prediction_versions`); the image's ground
truth and other versions' predictions stay, so a new model can be measured on frames that already
carry an older one's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from framescout.predictions.box import boxes_from_predictions
from framescout.server.deps import PathProject, SettingsDep, StoreDep
from framescout.server.schemas import ErrorOut
from framescout.server.uploads import predictions_of
from framescout.store.prediction_versions import model_version_text, replace_predictions

router = APIRouter(
    prefix="/api/v1/projects/{workspace}/{project}/images/{image_id}/predictions", tags=["annotations"]
)


class PredictionsIn(BaseModel):
    model_version: str = Field(
        min_length=1, max_length=200, description="The model version that made these predictions."
    )
    predictions: list[Any] | dict[str, Any] = Field(
        description="Roboflow-shaped predictions: a list of boxes (`x`, `y`, `width`, `height` of the "
        'centre box in pixels, `class`, `confidence`) or `{"predictions": [...], "image": {...}}`, '
        "as the upload's `predictions` field."
    )


class PredictionsSaved(BaseModel):
    image_id: str
    model_version: str
    count: int = Field(description="Boxes stored as the version's predictions.")
    replaced: bool = Field(description="The image had predictions of this version before (now replaced).")


@router.post(
    "",
    response_model=PredictionsSaved,
    status_code=201,
    responses={
        200: {"model": PredictionsSaved, "description": "The version's earlier predictions were replaced."},
        **{s: {"model": ErrorOut} for s in (401, 404, 422)},
    },
)
def add(
    image_id: str,
    body: PredictionsIn,
    response: Response,
    project: PathProject,
    store: StoreDep,
    settings: SettingsDep,
) -> PredictionsSaved:
    """Make ``predictions`` the image's predictions of ``model_version`` (201 when the image had none
    of that version, 200 when they replaced earlier ones), in one transaction.

    Checked as an upload's ``predictions`` field: 422 ``invalid_predictions`` (malformed boxes),
    ``unknown_class`` (a class a strict project does not have), ``box_outside_image``,
    ``invalid_box``, ``too_many_boxes``, ``too_many_new_classes``; new classes are learned."""
    version = model_version_text(body.model_version)
    boxes = boxes_from_predictions(predictions_of(body.predictions, "predictions"))
    saved = replace_predictions(
        store.db, project, image_id, boxes, version, class_limits=settings.class_limits
    )
    if saved.replaced:
        response.status_code = 200
    return PredictionsSaved(
        image_id=image_id, model_version=version, count=saved.count, replaced=saved.replaced
    )
