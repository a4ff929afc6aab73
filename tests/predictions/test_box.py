"""`Box`, the one stored box type, and its conversions at the edges: `Predictions`, the wire dict of the
review API / feedback reports / SDK, stored `Annotation` rows and their JSON, and the converters'
plain arrays (which no longer know the container)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framescout import Predictions
from framescout.predictions import converters
from framescout.predictions.box import (
    WIRE_KEYS,
    Box,
    boxes_from_predictions,
    center_to_corners,
    predictions_from_boxes,
)
from framescout.server.schemas import AnnotationOut, ReviewBox, ReviewIn
from framescout.store.models import GROUND_TRUTH, PREDICTION, Annotation

coords = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
names = st.sampled_from(["car", "person", "traffic light", "Straßenbahn", "猫"])
cheap = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
confidences = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def boxes(draw: st.DrawFn, confidence: bool = True) -> Box:
    x0, y0 = draw(coords), draw(coords)
    w, h = draw(st.floats(0, 1e5)), draw(st.floats(0, 1e5))
    conf = draw(confidences) if confidence else None
    return Box(draw(names), x0, y0, x0 + w, y0 + h, conf)


def test_geometry() -> None:
    box = Box("car", 10, 20, 110, 70)
    assert (box.width, box.height, box.center) == (100, 50, (60, 45))
    assert Box.from_center("car", 60, 45, 100, 50) == box
    assert center_to_corners(60, 45, 100, 50) == (10, 20, 110, 70)
    assert Box.from_center("car", 60, 45, 100, 50, 0.5).confidence == 0.5


def test_predictions_round_trip_keeps_boxes_names_and_confidences() -> None:
    p = Predictions.from_roboflow(
        {
            "predictions": [
                {
                    "x": 50,
                    "y": 40,
                    "width": 20,
                    "height": 10,
                    "confidence": 0.91,
                    "class": "car",
                    "class_id": 2,
                },
                {"x": 10, "y": 12, "width": 4, "height": 8, "confidence": 0.3, "class": "person"},
            ],
            "image": {"width": 640, "height": 480},
        }
    )
    found = boxes_from_predictions(p)
    assert found == [Box("car", 40, 35, 60, 45, 0.91), Box("person", 8, 8, 12, 16, 0.3)]
    again = predictions_from_boxes(found, image_width=640, image_height=480)
    np.testing.assert_array_equal(again.xyxy, p.xyxy)
    np.testing.assert_array_equal(again.confidence, p.confidence)
    assert again.class_name == p.class_name
    assert again.class_id.tolist() == [-1, -1]  # boxes carry names, not a model's ids
    assert (again.image_width, again.image_height) == (640, 480)


def test_predictions_from_boxes_fills_missing_confidences_and_handles_none() -> None:
    p = predictions_from_boxes([Box("car", 1, 2, 3, 4), Box("van", 5, 6, 7, 8, 0.25)])
    assert p.confidence.tolist() == [1.0, 0.25]
    assert predictions_from_boxes([Box("car", 1, 2, 3, 4)], default_confidence=0.5).confidence.tolist() == [
        0.5
    ]
    empty = predictions_from_boxes([])
    assert len(empty) == 0 and empty.xyxy.shape == (0, 4)
    assert boxes_from_predictions(empty) == []


@cheap
@given(st.lists(boxes(), max_size=8))
def test_any_boxes_survive_predictions(found: list[Box]) -> None:
    assert boxes_from_predictions(predictions_from_boxes(found)) == found


def test_wire_dict_is_the_review_api_shape() -> None:
    box = Box("car", 1.5, 2, 30, 40.25, confidence=0.7)
    wire = box.to_wire()
    assert wire == {"class": "car", "x_min": 1.5, "y_min": 2, "x_max": 30, "y_max": 40.25}
    assert tuple(wire) == WIRE_KEYS
    # what the review API accepts (it forbids other keys), and back to the same box without confidence
    review = ReviewIn.model_validate({"boxes": [wire]})
    assert review.to_boxes() == [Box("car", 1.5, 2, 30, 40.25)]
    assert Box.from_row(ReviewBox.model_validate(wire)) == Box("car", 1.5, 2, 30, 40.25)
    assert Box.from_wire(wire) == Box("car", 1.5, 2, 30, 40.25)
    assert Box.from_wire({**wire, "confidence": 0.7}) == box


@cheap
@given(boxes(confidence=False))
def test_any_box_survives_the_wire_and_json(box: Box) -> None:
    assert Box.from_wire(json.loads(json.dumps(box.to_wire()))) == box


def test_wire_dict_misses_a_key_loudly() -> None:
    with pytest.raises(KeyError, match="x_max"):
        Box.from_wire({"class": "car", "x_min": 1, "y_min": 2, "y_max": 4})


def annotation(kind: str, **extra: Any) -> Annotation:
    return Annotation(
        kind=kind, position=0, class_name="car", x_min=1.0, y_min=2.0, x_max=3.0, y_max=4.0, **extra
    )


def test_from_an_annotation_row_and_its_json() -> None:
    truth = annotation(GROUND_TRUTH, iscrowd=True)
    assert Box.from_row(truth) == Box("car", 1, 2, 3, 4, None, iscrowd=True)
    prediction = annotation(PREDICTION, confidence=0.4, model_version="3", iscrowd=False)
    assert Box.from_row(prediction) == Box("car", 1, 2, 3, 4, 0.4)
    listed = json.loads(AnnotationOut.of(prediction).model_dump_json())  # as the SDK's list_annotations
    assert Box.from_row(listed) == Box("car", 1, 2, 3, 4, 0.4)


@cheap
@given(boxes())
def test_any_box_survives_a_row(box: Box) -> None:
    row = Annotation(
        kind=PREDICTION,
        position=0,
        class_name=box.class_name,
        x_min=box.x_min,
        y_min=box.y_min,
        x_max=box.x_max,
        y_max=box.y_max,
        confidence=box.confidence,
        iscrowd=box.iscrowd,
    )
    assert Box.from_row(row) == box
    assert Box.from_row(AnnotationOut.of(row).model_dump()) == box


def test_converters_return_arrays_not_the_container() -> None:
    found = converters.from_roboflow(
        [{"x": 5, "y": 5, "width": 2, "height": 4, "confidence": 0.5, "class": "a"}]
    )
    assert isinstance(found, converters.RawDetections) and not isinstance(found, Predictions)
    np.testing.assert_array_equal(found.xyxy, [[4, 3, 6, 7]])
    assert list(found.class_name or []) == ["a"]
    p = Predictions.from_roboflow(
        [{"x": 5, "y": 5, "width": 2, "height": 4, "confidence": 0.5, "class": "a"}]
    )
    assert converters.to_roboflow(p.xyxy, p.confidence, p.class_id, p.class_name) == p.to_roboflow()
    assert not hasattr(converters, "Predictions")
