"""Roboflow JSON: every box field's type is checked, and the error names the field."""

from __future__ import annotations

from typing import Any

import pytest

from framescout.predictions import Predictions, PredictionsError

BOX = {"x": 20, "y": 20, "width": 10, "height": 10, "confidence": 0.5, "class": "person", "class_id": 3}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"class_id": "abc"}, "predictions[0].class_id"),
        ({"class_id": 1e30}, "predictions[0].class_id"),
        ({"class_id": None}, "predictions[0].class_id"),
        ({"class_id": 2**63}, "predictions[0].class_id"),
        ({"class_id": 1.5}, "predictions[0].class_id"),
        ({"class_id": True}, "predictions[0].class_id"),
        ({"x": "20"}, "predictions[0].x"),
        ({"y": None}, "predictions[0].y"),
        ({"width": float("inf")}, "predictions[0].width"),
        ({"height": [10]}, "predictions[0].height"),
        ({"confidence": False}, "predictions[0].confidence"),
        ({"class": 7}, "predictions[0].class"),
        ({"class": " "}, "predictions[0].class"),
        ({"x": 10**400}, "predictions[0].x"),
    ],
)
def test_a_wrong_type_names_its_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(PredictionsError, match=field.replace("[", r"\[").replace("]", r"\]")):
        Predictions.from_roboflow({"predictions": [{**BOX, **changes}]})


@pytest.mark.parametrize("side", [float("inf"), 1e30, -4, 0, "640", True, 2.5])
def test_image_size_must_be_a_positive_integer(side: Any) -> None:
    with pytest.raises(PredictionsError, match=r"image\.width"):
        Predictions.from_roboflow({"predictions": [], "image": {"width": side, "height": 48}})


def test_integral_values_and_missing_optionals_are_accepted() -> None:
    p = Predictions.from_roboflow(
        {"predictions": [{**BOX, "class_id": 2.0}, {k: v for k, v in BOX.items() if k != "class_id"}],
         "image": {"width": 640.0, "height": 480}}
    )  # fmt: skip
    assert p.class_id.tolist() == [2, -1] and (p.image_width, p.image_height) == (640, 480)
    drawn = Predictions.from_roboflow([{**BOX, "confidence": None}], default_confidence=1.0)
    assert drawn.confidence.tolist() == [1.0]
