"""The evaluation route over a real app and store (SQLite, and PostgreSQL + S3): which frames count
as measured (ground truth and predictions of the version), the filters, the versions list, the
comparison on the same frames, and the refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from framescout.predictions.box import Box
from framescout.store.evaluation_data import EvalFilter, eval_images, version_frames
from framescout.store.models import Project

pytestmark = pytest.mark.both_backends

BASE = "/api/v1/projects/acme/cams"
EVAL = f"{BASE}/evaluation"
PERSON = {"class": "person", "x_min": 10, "y_min": 10, "x_max": 30, "y_max": 40}
CAR = {"class": "car", "x_min": 35, "y_min": 5, "x_max": 60, "y_max": 25}


def _roboflow(boxes: list[dict[str, Any]], confidence: float = 0.9) -> str:
    """Wire boxes as Roboflow JSON predictions (centre and size)."""
    return json.dumps(
        {
            "predictions": [
                {
                    "x": (b["x_min"] + b["x_max"]) / 2,
                    "y": (b["y_min"] + b["y_max"]) / 2,
                    "width": b["x_max"] - b["x_min"],
                    "height": b["y_max"] - b["y_min"],
                    "confidence": confidence,
                    "class": b["class"],
                }
                for b in boxes
            ]
        }
    )


class Frames:
    """Uploads, reviews and annotations through the API of the ``env`` fixture's app."""

    def __init__(self, env: Any, make_jpeg: Callable[..., bytes]) -> None:
        self.env, self.make_jpeg, self.seed = env, make_jpeg, 100

    def upload(self, predictions: list[dict[str, Any]] | None = None, **fields: str) -> str:
        self.seed += 1
        data = dict(fields)
        if predictions is not None:
            data["predictions"] = _roboflow(predictions)
        files = {"file": (f"f{self.seed}.jpg", self.make_jpeg(seed=self.seed), "image/jpeg")}
        answer = self.env.client.post(f"{BASE}/images", headers=self.env.auth(), files=files, data=data)
        assert answer.status_code == 201, answer.text
        image_id: str = answer.json()["id"]
        return image_id

    def review(self, image_id: str, boxes: list[dict[str, Any]], status: str = "reviewed") -> None:
        body = {"boxes": boxes, "status": status, "reviewer": "tester"}
        answer = self.env.client.post(f"{BASE}/images/{image_id}/review", headers=self.env.auth(), json=body)
        assert answer.status_code == 200, answer.text

    def ground_truth(self, image_id: str, boxes: list[dict[str, Any]]) -> None:
        answer = self.env.client.post(
            f"{BASE}/images/{image_id}/annotations",
            headers={**self.env.auth(), "Content-Type": "text/plain"},
            params={"format": "roboflow", "kind": "ground_truth"},
            content=_roboflow(boxes).encode(),
        )
        assert answer.status_code == 201, answer.text

    def add_predictions(self, image_id: str, version: str, boxes: list[dict[str, Any]]) -> None:
        """Predictions of another version on a stored frame, through the predictions route."""
        body = {"model_version": version, "predictions": json.loads(_roboflow(boxes, 0.8))["predictions"]}
        url = f"{BASE}/images/{image_id}/predictions"
        answer = self.env.client.post(url, headers=self.env.auth(), json=body)
        assert answer.status_code == 201, answer.text

    def get(self, path: str = "", **params: Any) -> Any:
        return self.env.client.get(EVAL + path, headers=self.env.auth(), params=params)


@pytest.fixture
def frames(env: Any, make_jpeg: Callable[..., bytes]) -> Frames:
    return Frames(env, make_jpeg)


def _project(env: Any) -> Project:
    with env.store.db.reading() as session:
        project: Project | None = session.scalar(select(Project).where(Project.slug == "cams"))
        assert project is not None
        return project


def test_frames_with_truth_and_the_versions_predictions_are_measured(frames: Frames, env: Any) -> None:
    reviewed = frames.upload(
        [PERSON], model_version="1", sampling_rule="low", device_id="cam-a", tags="night"
    )
    frames.review(reviewed, [PERSON, CAR])
    negative = frames.upload(None, model_version="1", sampling_rule="random", device_id="cam-b")
    frames.review(negative, [])  # a true negative on which version 1 detected nothing
    imported = frames.upload([CAR], model_version="1", sampling_rule="low", device_id="cam-b")
    frames.ground_truth(imported, [CAR])  # uploaded with annotations, not reviewed
    frames.upload([PERSON], model_version="1")  # no ground truth: not measured
    rejected = frames.upload([PERSON], model_version="1")
    frames.review(rejected, [], status="rejected")
    other = frames.upload([PERSON], model_version="2")
    frames.review(other, [PERSON])  # version 2's frame only
    frames.add_predictions(reviewed, "2", [CAR])
    late = frames.upload(None)
    frames.review(late, [PERSON])
    frames.add_predictions(late, "3", [])  # version 3 ran on it and found nothing: a miss

    project = _project(env)
    with env.store.db.reading() as session:
        got = {image.image_id: image for image in eval_images(session, project, "1")}
        night = [i.image_id for i in eval_images(session, project, "1", EvalFilter(tag="night"))]
        low = {i.image_id for i in eval_images(session, project, "1", EvalFilter(rule="low"))}
        cam_b = {i.image_id for i in eval_images(session, project, "1", EvalFilter(device_id="cam-b"))}
        later = eval_images(session, project, "1", EvalFilter(since=datetime(2100, 1, 1)))
        listed = version_frames(session, project)
        three = eval_images(session, project, "3")
    assert set(got) == {reviewed, negative, imported}
    assert sorted(b.class_name for b in got[reviewed].truth) == ["car", "person"]
    assert [(b.class_name, b.confidence) for b in got[reviewed].predictions] == [("person", 0.9)]
    assert got[negative].truth == [] and got[negative].predictions == []
    assert got[imported].truth == [Box("car", 35, 5, 60, 25)] and len(got[imported].predictions) == 1
    assert night == [reviewed] and low == {reviewed, imported} and cam_b == {negative, imported}
    assert later == []
    assert [(v.model_version, v.predicted, v.evaluable) for v in listed] == [
        ("1", 5, 3),
        ("2", 2, 2),
        ("3", 1, 1),
    ]
    assert [(i.image_id, len(i.truth), i.predictions) for i in three] == [(late, 1, [])]

    answer = frames.get(model_version="1")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model_version"] == "1" and body["images"] == 3
    assert body["ground_truth_boxes"] == 3 and body["predictions"] == 2
    assert frames.get(model_version="1", rule="low", tag="night").json()["images"] == 1
    assert frames.get(model_version="1", since="2100-01-01T00:00:00+02:00").json()["images"] == 0
    versions = frames.get("/versions").json()
    assert versions["default"] == "3"
    assert versions["versions"][0] == {
        "model_version": "1", "registered": False, "predicted_frames": 5, "evaluable_frames": 3
    }  # fmt: skip


def test_compare_measures_both_versions_on_the_same_frames(frames: Frames) -> None:
    both = frames.upload([PERSON, CAR], model_version="1")
    frames.review(both, [PERSON, CAR])
    frames.add_predictions(both, "2", [PERSON])  # version 2 misses the car
    only_one = frames.upload([PERSON], model_version="1")
    frames.review(only_one, [PERSON])
    answer = frames.get(model_version="1", compare="2")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["images"] == 1 and body["compare"]["images"] == 1  # only the frame both predicted
    assert body["compare"]["model_version"] == "2" and body["compare"]["predictions"] == 1
    assert (
        body["predictions"] == 2 and body["ground_truth_boxes"] == body["compare"]["ground_truth_boxes"] == 2
    )
    for key in ("ap", "ap50"):
        assert body["delta"][key] == pytest.approx(body["compare"][key] - body[key])
    assert body["delta"]["ap50"] < 0
    alone = frames.get(model_version="1").json()
    assert alone["images"] == 2 and "compare" not in alone


def test_no_frame_is_an_empty_answer_and_refusals_have_codes(frames: Frames, env: Any) -> None:
    pending = frames.upload([PERSON], model_version="7")  # known (predicted), never reviewed
    empty = frames.get(model_version="7")
    assert empty.status_code == 200, empty.text
    body = empty.json()
    assert body["images"] == 0 and body["ap"] is None and body["ap50"] is None
    assert body["recommended_threshold"] is None and body["per_class"] == {}
    assert frames.get("/versions").json()["default"] is None
    frames.review(pending, [PERSON])
    assert frames.get("/versions").json()["default"] == "7"

    unknown = frames.get(model_version="8")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_version_not_found"
    assert "'8'" in unknown.json()["error"]["message"]
    assert frames.get(model_version="7", compare="9").json()["error"]["code"] == "model_version_not_found"
    for params, where in (
        ({"model_version": "7", "since": "yesterday"}, "since"),
        ({"model_version": "7", "tag": "x" * 101}, "tag"),
        ({"model_version": "7", "rule": "a\x00b"}, "rule"),
        ({}, "model_version"),
        ({"model_version": ""}, "model_version"),
    ):
        refused = frames.get(**params)
        assert refused.status_code == 422, (params, refused.text)
        assert (
            refused.json()["error"]["code"] == "validation_error"
            and where in refused.json()["error"]["message"]
        )
    same = frames.get(model_version="7", compare="7")
    assert same.status_code == 422 and same.json()["error"]["code"] == "invalid_filter"
    assert env.client.get(EVAL, params={"model_version": "7"}).status_code == 401
    foreign = env.client.get(EVAL, headers=env.auth(env.other_key), params={"model_version": "7"})
    assert foreign.status_code == 404


def test_a_registered_version_is_known_before_it_predicted(frames: Frames, env: Any) -> None:
    from framescout.store.models import ModelVersion

    project = _project(env)
    with env.store.db.writing() as session:
        session.add(ModelVersion(project_id=project.id, version=3, onnx_sha256="0" * 64, class_names=[]))
    answer = frames.get(model_version="3")
    assert answer.status_code == 200 and answer.json()["images"] == 0
    assert frames.get("/versions").json()["versions"] == [
        {"model_version": "3", "registered": True, "predicted_frames": 0, "evaluable_frames": 0}
    ]
