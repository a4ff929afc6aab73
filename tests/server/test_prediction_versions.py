"""Predictions of several model versions per image: the predictions route, duplicate uploads adding a
new version's predictions, and the annotations route's ``overwrite``/409 scoped to one version."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.both_backends

URL = "/api/v1/projects/acme/cams/images"
OPEN = "/api/v1/projects/acme/open/images"


def box(cls: str = "car", x: float = 20, confidence: float = 0.8) -> dict[str, Any]:
    return {"x": x, "y": 20, "width": 10, "height": 10, "class": cls, "confidence": confidence}


def upload(env: Any, data: bytes, url: str = URL, **form: Any) -> Any:
    fields = {k: json.dumps(v) if k == "predictions" else v for k, v in form.items()}
    return env.client.post(
        url, headers=env.auth(), files={"file": ("a.jpg", data, "image/jpeg")}, data=fields
    )


def predictions(env: Any, image_id: str, url: str = URL) -> dict[str | None, list[tuple[str, float]]]:
    """The image's predictions, by model version: (class, x_min) per box in order."""
    rows = env.client.get(f"{url}/{image_id}/annotations", headers=env.auth(), params={"kind": "prediction"})
    by_version: dict[str | None, list[tuple[str, float]]] = {}
    for row in rows.json():
        by_version.setdefault(row["model_version"], []).append((row["class_name"], row["x_min"]))
    return by_version


def truth(env: Any, image_id: str) -> list[str]:
    rows = env.client.get(
        f"{URL}/{image_id}/annotations", headers=env.auth(), params={"kind": "ground_truth"}
    )
    return [row["class_name"] for row in rows.json()]


def post(env: Any, image_id: str, body: Any, url: str = URL) -> Any:
    return env.client.post(f"{url}/{image_id}/predictions", headers=env.auth(), json=body)


def test_the_route_replaces_one_version_only(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    image_id = upload(env, make_jpeg(64, 48, 1), predictions=[box("dog")], model_version="1").json()["id"]
    review = {"boxes": [{"class": "person", "x_min": 1, "y_min": 1, "x_max": 9, "y_max": 9}]}
    assert env.client.post(f"{URL}/{image_id}/review", headers=env.auth(), json=review).status_code == 200

    first = post(env, image_id, {"model_version": "2", "predictions": [box("car", 20), box("dog", 30)]})
    assert first.status_code == 201, first.text
    assert first.json() == {"image_id": image_id, "model_version": "2", "count": 2, "replaced": False}
    again = post(env, image_id, {"model_version": "2", "predictions": {"predictions": [box("person", 40)]}})
    assert again.status_code == 200 and again.json()["count"] == 1 and again.json()["replaced"]

    assert predictions(env, image_id) == {"1": [("dog", 15.0)], "2": [("person", 35.0)]}
    assert truth(env, image_id) == ["person"]

    emptied = post(env, image_id, {"model_version": "2", "predictions": []})
    assert emptied.status_code == 200 and emptied.json()["count"] == 0
    assert predictions(env, image_id) == {"1": [("dog", 15.0)]}


def test_the_route_checks_as_the_upload_does(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    image_id = upload(env, make_jpeg(64, 48, 2)).json()["id"]
    cases: list[tuple[Any, int, str]] = [
        ({"predictions": [box()]}, 422, "validation_error"),  # no model_version
        ({"model_version": "", "predictions": [box()]}, 422, "validation_error"),
        ({"model_version": "v\x00", "predictions": [box()]}, 422, "invalid_model_version"),
        ({"model_version": "2", "predictions": [box("unicorn")]}, 422, "unknown_class"),  # strict project
        ({"model_version": "2", "predictions": [box(x=500)]}, 422, "box_outside_image"),
        ({"model_version": "2", "predictions": [{"x": 1, "class": "car"}]}, 422, "invalid_predictions"),
        ({"model_version": "2", "predictions": [box(confidence=2)]}, 422, "invalid_predictions"),
        ({"model_version": "2", "predictions": [box()] * 1001}, 422, "too_many_boxes"),
    ]
    for body, status, code in cases:
        answer = post(env, image_id, body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), (body, answer.text)
    assert predictions(env, image_id) == {}
    missing = post(env, "nope", {"model_version": "2", "predictions": [box()]})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "image_not_found"
    body = {"model_version": "2", "predictions": [box()]}
    other = env.client.post(f"{URL}/{image_id}/predictions", headers=env.auth(env.other_key), json=body)
    assert other.status_code == 404  # another workspace's key does not see the project


def test_the_route_learns_classes_of_an_open_project(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    image_id = upload(env, make_jpeg(64, 48, 3), url=OPEN).json()["id"]
    answer = post(env, image_id, {"model_version": "7", "predictions": [box("kite")]}, url=OPEN)
    assert answer.status_code == 201, answer.text
    project = env.client.get("/api/v1/projects/acme/open", headers=env.auth()).json()
    assert "kite" in project["classes"]


def test_a_duplicate_adds_a_new_versions_predictions_once(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    data = make_jpeg(64, 48, 4)
    first = upload(env, data, predictions=[box("dog")], model_version="1").json()
    assert first["predictions_added"] == 0 and not first["duplicate"]
    image_id = first["id"]

    added = upload(env, data, predictions=[box("car"), box("person", 30)], model_version="2")
    assert added.status_code == 200 and added.json()["duplicate"] and added.json()["predictions_added"] == 2
    retried = upload(env, data, predictions=[box("dog", 40)], model_version="2").json()  # same version
    assert retried["duplicate"] and retried["predictions_added"] == 0
    unversioned = upload(env, data, predictions=[box("dog", 40)]).json()  # no version: dropped
    assert unversioned["predictions_added"] == 0
    plain = upload(env, data).json()
    assert plain["duplicate"] and plain["predictions_added"] == 0

    assert predictions(env, image_id) == {"1": [("dog", 15.0)], "2": [("car", 15.0), ("person", 25.0)]}
    nothing = upload(env, data, predictions=[], model_version="4").json()  # version 4 found nothing
    assert nothing["predictions_added"] == 0
    assert upload(env, data, predictions=[box()], model_version="4").json()["predictions_added"] == 0
    refused = upload(env, data, predictions=[box("unicorn")], model_version="3")  # checked as before
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unknown_class"
    assert set(predictions(env, image_id)) == {"1", "2"}


def test_annotations_overwrite_and_409_are_per_version(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    image_id = upload(env, make_jpeg(64, 48, 5), predictions=[box("dog")], model_version="1").json()["id"]
    roboflow = json.dumps({"predictions": [box("car")]})

    def annotate(**params: Any) -> Any:
        return env.client.post(
            f"{URL}/{image_id}/annotations",
            headers={**env.auth(), "Content-Type": "text/plain"},
            params={"format": "roboflow", **params},
            content=roboflow.encode(),
        )

    assert annotate(kind="prediction", model_version="2").status_code == 201  # not a 409 any more
    taken = annotate(kind="prediction", model_version="2")
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "already_annotated"
    assert "model version '2'" in taken.json()["error"]["message"]
    assert annotate(kind="prediction", model_version="2", overwrite="true").status_code == 201
    assert annotate(kind="ground_truth").status_code == 201
    assert annotate(kind="ground_truth", overwrite="true").status_code == 201
    assert predictions(env, image_id) == {"1": [("dog", 15.0)], "2": [("car", 15.0)]}
    assert truth(env, image_id) == ["car"]


def test_the_sdk_adds_predictions_to_a_live_server(live: Any, make_jpeg: Callable[..., bytes]) -> None:
    from framescout import Predictions
    from framescout.client import ApiError, Client

    with Client(live.server.url, live.key) as client:
        image_id = client.upload_image("acme/coco", make_jpeg(64, 48, 6), model_version="1").id
        made = Predictions.from_arrays(
            [[10, 10, 30, 30]], [0.6], [0], ["person"], image_width=64, image_height=48
        )
        saved = client.add_predictions("acme/coco", image_id, "2", made)
        assert saved["count"] == 1 and not saved["replaced"]
        again = client.add_predictions("acme/coco", image_id, "2", [box("car"), box("dog")])
        assert again["count"] == 2 and again["replaced"]
        [row] = [a for a in client.list_annotations("acme/coco", image_id) if a["class_name"] == "car"]
        assert row["model_version"] == "2" and row["confidence"] == pytest.approx(0.8)
        duplicate = client.upload_image(
            "acme/coco", make_jpeg(64, 48, 6), predictions=made, model_version="3"
        )
        assert duplicate.duplicate and duplicate.predictions_added == 1
        with pytest.raises(ApiError) as err:
            client.add_predictions("acme/coco", "no-such-image", "2", [box()])
        assert err.value.status == 404


def test_a_roboflow_upload_of_known_bytes_adds_a_new_versions_prelabels(
    env: Any, make_jpeg: Callable[..., bytes]
) -> None:
    """``active_learning()`` uploads right after hosted inference: a second model's pre-labels on the
    same image are added beside the first's; a retry adds nothing."""
    from framescout.imaging import decode_image
    from framescout.server import prelabels
    from framescout.store.accounts import get_or_create_workspace

    data = make_jpeg(64, 48, 7)
    decoded = decode_image(data)

    def infer_then_upload(model: str, boxes: list[dict[str, Any]]) -> dict[str, Any]:
        payload = {"predictions": boxes, "image": {"width": 64, "height": 48}}
        with env.store.db.writing() as session:
            workspace = get_or_create_workspace(session, "acme")
        prelabels.remember(env.store.db, workspace, model, data, decoded, payload)
        answer = env.client.post(
            "/dataset/cams/upload", params={"api_key": env.key}, files={"file": ("f.jpg", data, "image/jpeg")}
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    first = infer_then_upload("cams/1", [box("dog")])
    assert first["success"]
    second = infer_then_upload("cams/2", [box("car"), box("person", 30)])
    assert second == {"duplicate": True, "id": first["id"], "predictions_added": 2}
    retry = infer_then_upload("cams/2", [box("car", 40)])
    assert retry["predictions_added"] == 0
    assert predictions(env, first["id"]) == {
        "cams/1": [("dog", 15.0)],
        "cams/2": [("car", 15.0), ("person", 25.0)],
    }
