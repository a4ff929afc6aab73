"""The Predictions container and its converters (Roboflow JSON, supervision, Ultralytics)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from framescout import Predictions, PredictionsError

ROBOFLOW = {
    "predictions": [
        {"x": 50, "y": 40, "width": 20, "height": 10, "confidence": 0.91, "class": "car", "class_id": 2},
        {"x": 10.5, "y": 12.5, "width": 5, "height": 9, "confidence": 0.32, "class": "person", "class_id": 0},
    ],
    "image": {"width": 640, "height": 480},
}


def test_from_roboflow_converts_centre_boxes_to_corners() -> None:
    p = Predictions.from_roboflow(ROBOFLOW)
    assert len(p) == 2
    np.testing.assert_allclose(p.xyxy[0], [40, 35, 60, 45])
    np.testing.assert_allclose(p.area, [200, 45])
    assert p.class_name == ("car", "person")
    assert p.class_id.tolist() == [2, 0]
    assert (p.image_width, p.image_height) == (640, 480)
    assert p.names_present == {"car", "person"}


def test_roboflow_round_trip_is_lossless_for_pixel_values() -> None:
    p = Predictions.from_roboflow(ROBOFLOW)
    again = Predictions.from_roboflow(p.to_roboflow())
    np.testing.assert_allclose(again.xyxy, p.xyxy)
    np.testing.assert_allclose(again.confidence, p.confidence)
    assert again.class_name == p.class_name
    assert p.to_roboflow()["image"] == {"width": 640, "height": 480}


def test_bare_prediction_list_and_empty_frames() -> None:
    assert len(Predictions.from_roboflow([])) == 0
    assert len(Predictions.from_roboflow({"predictions": []})) == 0
    empty = Predictions.empty(100, 50)
    assert len(empty) == 0 and empty.area.shape == (0,)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"predictions": [{"x": 1, "y": 1, "width": 2, "height": 2, "class": "a"}]},
            "missing the key 'confidence'",
        ),
        (
            {"predictions": [{"x": "a", "y": 1, "width": 2, "height": 2, "confidence": 0.5, "class": "a"}]},
            "predictions[0].x must be a number",
        ),
        (
            {"predictions": [{"x": 1, "y": 1, "width": -2, "height": 2, "confidence": 0.5, "class": "a"}]},
            "negative",
        ),
        (
            {"predictions": [{"x": 1, "y": 1, "width": 2, "height": 2, "confidence": 1.5, "class": "a"}]},
            "[0, 1]",
        ),
        ({"predictions": "nope"}, "must be a list"),
        ({"predictions": [1]}, "must be an object"),
        ({"predictions": [], "image": {"width": "wide", "height": 2}}, "integer"),
    ],
)
def test_malformed_roboflow_json_is_rejected_clearly(payload: object, message: str) -> None:
    with pytest.raises(PredictionsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Predictions.from_roboflow(payload)  # type: ignore[arg-type]


def test_shapes_are_checked() -> None:
    with pytest.raises(PredictionsError, match="class_id and class_name"):
        Predictions.from_arrays([[0, 0, 1, 1]], [0.5], [0, 1], class_name=["a"])
    with pytest.raises(PredictionsError, match="no name"):
        Predictions.from_arrays([[0, 0, 1, 1]], [0.5], [7], ["a", "b"])
    with pytest.raises(PredictionsError, match="finite"):
        Predictions.from_arrays([[0, 0, np.nan, 1]], [0.5], [0], ["a"])


def test_selection_keeps_everything_aligned() -> None:
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    p = Predictions.from_arrays(
        np.arange(12).reshape(3, 4), [0.9, 0.8, 0.5], [0, 1, 0], ["a", "b"], class_probs=probs
    )
    sub = p[p.confidence > 0.6]
    assert sub.class_name == ("a", "b")
    np.testing.assert_allclose(sub.class_probs, probs[:2])  # type: ignore[arg-type]
    assert p.with_classes(["a"]).confidence.tolist() == [0.9, 0.5]


def test_from_supervision_like_detections() -> None:
    detections = SimpleNamespace(
        xyxy=np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32),
        confidence=np.array([0.7], dtype=np.float32),
        class_id=np.array([3]),
        data={"class_name": np.array(["truck"])},
    )
    p = Predictions.from_supervision(detections)
    assert p.class_name == ("truck",) and p.class_id.tolist() == [3]
    no_names = SimpleNamespace(xyxy=detections.xyxy, confidence=None, class_id=np.array([1]), data={})
    assert Predictions.from_supervision(no_names, ["a", "b"]).class_name == ("b",)


def test_from_real_supervision_when_installed() -> None:
    sv = pytest.importorskip("supervision", reason="supervision is an optional extra")
    detections = sv.Detections(
        xyxy=np.array([[0, 0, 10, 10]], dtype=np.float32), confidence=np.array([0.4]), class_id=np.array([0])
    )
    assert Predictions.from_supervision(detections, ["cat"]).class_name == ("cat",)


class _Tensor:
    """Stands in for a torch tensor: the converter only calls .detach().cpu().numpy()."""

    def __init__(self, values: object) -> None:
        self.values = np.asarray(values)

    def detach(self) -> _Tensor:
        return self

    def cpu(self) -> _Tensor:
        return self

    def numpy(self) -> np.ndarray:
        return self.values


def test_from_ultralytics_like_results() -> None:
    boxes = SimpleNamespace(xyxy=_Tensor([[5, 5, 15, 25]]), conf=_Tensor([0.66]), cls=_Tensor([1.0]))
    result = SimpleNamespace(boxes=boxes, names={0: "person", 1: "bicycle"}, orig_shape=(480, 640))
    p = Predictions.from_ultralytics(result)
    assert p.class_name == ("bicycle",)
    assert (p.image_width, p.image_height) == (640, 480)
    with pytest.raises(PredictionsError, match="boxes"):
        Predictions.from_ultralytics(object())
