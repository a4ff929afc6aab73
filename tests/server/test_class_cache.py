"""A class added a moment ago is not refused because of the briefly cached project: the server keeps a
project for up to two seconds per worker, so an early class refusal is checked against the stored
class list before it is answered."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from framescout.store.accounts import add_classes, get_project, get_workspace

BASE = "/api/v1/projects/acme/cams"


def _boxes(name: str, confidence: float | None = 0.5) -> str:
    box: dict[str, Any] = {"x": 20, "y": 20, "width": 10, "height": 10, "class": name}
    if confidence is not None:
        box["confidence"] = confidence
    return json.dumps({"predictions": [box]})


def _add_class(env: Any, name: str) -> None:
    """As another worker or host would: straight into the database, behind this worker's cache."""
    with env.store.db.writing() as session:
        add_classes(get_project(session, get_workspace(session, "acme"), "cams"), [name])


def _upload(env: Any, data: bytes, predictions: str) -> Any:
    files = {"file": ("f.jpg", data, "image/jpeg")}
    return env.client.post(
        f"{BASE}/images", headers=env.auth(), files=files, data={"predictions": predictions}
    )


def test_an_upload_of_a_class_just_added_is_taken(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    first = _upload(env, make_jpeg(seed=1), _boxes("person"))
    assert first.status_code == 201, first.text  # the project is now cached
    refused = _upload(env, make_jpeg(seed=2), _boxes("zebra"))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unknown_class"
    _add_class(env, "zebra")
    taken = _upload(env, make_jpeg(seed=2), _boxes("zebra"))
    assert taken.status_code == 201, taken.text
    boxes = env.client.get(f"{BASE}/images/{taken.json()['id']}", headers=env.auth()).json()
    assert "zebra" in json.dumps(boxes)


def test_a_report_correcting_to_a_class_just_added_is_taken(
    env: Any, make_jpeg: Callable[..., bytes]
) -> None:
    assert _upload(env, make_jpeg(seed=3), _boxes("person")).status_code == 201
    _add_class(env, "zebra")
    report = env.client.post(
        f"{BASE}/feedback",
        headers=env.auth(),
        files={"file": ("r.jpg", make_jpeg(seed=4), "image/jpeg")},
        data={
            "verdict": "wrong",
            "prediction": "0",
            "corrected": _boxes("zebra", None),
            "predictions": _boxes("person"),
        },
    )
    assert report.status_code == 201, report.text
    assert report.json()["corrected"][0]["class"] == "zebra"
