"""Feedback and bug reports from end users' apps: recorded, tagged for review, bad input refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

BASE = "/api/v1/projects/acme/cams"
PREDICTIONS = {
    "predictions": [
        {"x": 20, "y": 20, "width": 10, "height": 10, "confidence": 0.55, "class": "person"},
        {"x": 40, "y": 30, "width": 8, "height": 8, "confidence": 0.91, "class": "car"},
    ]
}


def upload(env: Any, make_jpeg: Callable[..., bytes], seed: int = 1) -> str:
    response = env.client.post(
        f"{BASE}/images",
        headers=env.auth(),
        files={"file": ("a.jpg", make_jpeg(seed=seed), "image/jpeg")},
        data={"predictions": json.dumps(PREDICTIONS)},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def reports_count(env: Any) -> int:
    return int(env.client.get(f"{BASE}/reports", headers=env.auth()).json()["total"])


def test_feedback_on_an_existing_prediction(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    image_id = upload(env, make_jpeg)
    corrected = {"predictions": [{"x": 21, "y": 20, "width": 12, "height": 10, "class": "dog"}]}
    response = env.client.post(
        f"{BASE}/feedback",
        headers=env.auth(),
        data={
            "image_id": image_id,
            "verdict": "wrong",
            "prediction": "0",
            "corrected": json.dumps(corrected),
            "comment": "that is a dog",
            "app_version": "ios 2.3.1",
            "metadata": '{"device": "iPhone"}',
        },
    )
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["kind"], report["verdict"], report["prediction_index"]) == ("feedback", "wrong", 0)
    assert report["corrected"][0]["class"] == "dog" and report["metadata"] == {"device": "iPhone"}
    tags = env.client.get(f"{BASE}/images/{image_id}", headers=env.auth()).json()["tags"]
    assert {"feedback", "feedback-wrong"} <= set(tags)
    listed = env.client.get(f"{BASE}/reports?kind=feedback&status=open", headers=env.auth()).json()
    assert listed["total"] == 1 and listed["reports"][0]["id"] == report["id"]


def test_feedback_with_a_new_image_and_a_bug_report(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    response = env.client.post(
        f"{BASE}/feedback",
        headers=env.auth(),
        files={"file": ("frame.jpg", make_jpeg(seed=7), "image/jpeg")},
        data={"verdict": "missing_object", "predictions": json.dumps(PREDICTIONS), "model_version": "3"},
    )
    assert response.status_code == 201, response.text
    image = env.client.get(f"{BASE}/images/{response.json()['image_id']}", headers=env.auth()).json()
    assert "feedback-missing-object" in image["tags"] and image["model_version"] == "3"
    bug = env.client.post(
        f"{BASE}/bug-reports",
        headers=env.auth(),
        files={"file": ("s.jpg", make_jpeg(seed=8), "image/jpeg")},
        data={"description": "the model detects nothing at night", "severity": "no_detections"},
    )
    assert bug.status_code == 201, bug.text
    assert bug.json()["kind"] == "bug" and bug.json()["severity"] == "no_detections"
    crash = env.client.post(
        f"{BASE}/bug-reports",
        headers=env.auth(),
        data={"description": "the app crashed on start", "severity": "crash", "app_version": "1.0"},
    )
    assert crash.status_code == 201 and crash.json()["image_id"] is None
    assert env.client.get(f"{BASE}/reports?kind=bug", headers=env.auth()).json()["total"] == 2


BAD: dict[str, tuple[dict[str, str], int, str]] = {
    "unknown prediction": ({"verdict": "wrong", "prediction": "5"}, 404, "unknown_prediction"),
    "wrong without prediction": ({"verdict": "wrong"}, 422, "missing_prediction"),
    "bad verdict": ({"verdict": "meh"}, 422, "invalid_verdict"),
    "corrected outside image": (
        {
            "verdict": "correct",
            "corrected": json.dumps(
                {"predictions": [{"x": 500, "y": 20, "width": 10, "height": 10, "class": "person"}]}
            ),
        },
        422,
        "box_outside_image",
    ),
    "corrected malformed": ({"verdict": "correct", "corrected": "{"}, 422, "malformed_json"),
    "unknown image": ({"verdict": "correct", "image_id": "nope"}, 404, "image_not_found"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_feedback_stores_nothing(env: Any, make_jpeg: Callable[..., bytes], case: str) -> None:
    image_id = upload(env, make_jpeg)
    data, status, code = BAD[case]
    response = env.client.post(f"{BASE}/feedback", headers=env.auth(), data={"image_id": image_id, **data})
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert reports_count(env) == 0
    tags = env.client.get(f"{BASE}/images/{image_id}", headers=env.auth()).json()["tags"]
    assert "feedback" not in tags


def test_bad_new_images_and_missing_fields(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    huge = b"\xff\xd8" + b"\x00" * 3_000_000
    response = env.client.post(
        f"{BASE}/feedback",
        headers=env.auth(),
        files={"file": ("x.jpg", huge, "image/jpeg")},
        data={"verdict": "correct"},
    )
    assert response.status_code == 413 and env.image_rows() == 0
    response = env.client.post(
        f"{BASE}/feedback",
        headers=env.auth(),
        files={"file": ("x.jpg", make_jpeg(), "image/jpeg")},
        data={"verdict": "wrong", "prediction": "0"},  # no predictions were sent with the new image
    )
    assert response.json()["error"]["code"] == "unknown_prediction" and env.image_rows() == 0
    assert (
        env.client.post(f"{BASE}/feedback", headers=env.auth(), data={"verdict": "correct"}).json()["error"][
            "code"
        ]
        == "missing_image"
    )
    missing = env.client.post(f"{BASE}/bug-reports", headers=env.auth(), data={"severity": "crash"})
    assert missing.status_code == 422
    blank = env.client.post(
        f"{BASE}/bug-reports", headers=env.auth(), data={"severity": "crash", "description": " "}
    )
    assert blank.json()["error"]["code"] == "missing_description"
    bad = env.client.post(
        f"{BASE}/bug-reports", headers=env.auth(), data={"severity": "boom", "description": "x"}
    )
    assert bad.json()["error"]["code"] == "invalid_severity"
    assert reports_count(env) == 0 and env.image_rows() == 0


def test_other_workspaces_cannot_report_or_read(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    image_id = upload(env, make_jpeg)
    other = env.auth(env.other_key)
    response = env.client.post(
        f"{BASE}/feedback", headers=other, data={"image_id": image_id, "verdict": "correct"}
    )
    assert response.status_code == 404
    assert env.client.get(f"{BASE}/reports", headers=other).status_code == 404
    assert (
        env.client.post(f"{BASE}/feedback", data={"image_id": image_id, "verdict": "correct"}).status_code
        == 401
    )
    assert reports_count(env) == 0


def test_feedback_to_the_wrong_project_is_refused(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    image_id = upload(env, make_jpeg)  # an image of acme/cams
    elsewhere = env.client.post(
        "/api/v1/projects/acme/open/feedback",
        headers=env.auth(),
        data={"image_id": image_id, "verdict": "correct"},
    )
    assert elsewhere.status_code == 404 and elsewhere.json()["error"]["code"] == "image_not_found"
    missing = env.client.post(
        "/api/v1/projects/acme/nope/bug-reports",
        headers=env.auth(),
        data={"severity": "crash", "description": "x"},
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "project_not_found"
    assert reports_count(env) == 0
