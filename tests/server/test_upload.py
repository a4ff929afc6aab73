"""The native upload endpoint: create, deduplicate, fields, predictions kept apart from ground truth."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.both_backends

URL = "/api/v1/projects/acme/cams/images"


def test_upload_creates_then_answers_duplicate(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    data = make_jpeg(seed=1)
    first = env.client.post(URL, headers=env.auth(), files={"file": ("a.jpg", data, "image/jpeg")})
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["duplicate"] is False and len(body["sha256"]) == 64
    again = env.client.post(URL, headers=env.auth(), files={"file": ("b.jpg", data, "image/jpeg")})
    assert again.status_code == 200
    assert again.json() == {
        "id": body["id"],
        "sha256": body["sha256"],
        "duplicate": True,
        "predictions_added": 0,
    }
    assert env.image_rows() == 1 and len(env.stored_blobs()) == 1


def test_upload_stores_fields_and_predictions_as_prelabels(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    predictions = {
        "predictions": [
            {"x": 20, "y": 20, "width": 10, "height": 8, "confidence": 0.31, "class": "person", "class_id": 0}
        ],
        "image": {"width": 64, "height": 48},
    }
    response = env.client.post(
        URL + "?api_key=" + env.key,
        files={"file": ("frame.jpg", make_jpeg(seed=2), "image/jpeg")},
        data={
            "name": "cam1-0001.jpg",
            "split": "valid",
            "batch": "night",
            "tags": "low-light, cam1",
            "metadata": json.dumps({"site": "gate"}),
            "predictions": json.dumps(predictions),
            "sampling_rule": "low-confidence",
            "sampling_reason": "person at 0.31 < 0.40",
            "model_version": "nanodet-m@1",
            "device_id": "jetson-7",
        },
    )
    assert response.status_code == 201, response.text
    image_id = response.json()["id"]
    record = env.client.get(f"{URL}/{image_id}", headers=env.auth()).json()
    assert record["name"] == "cam1-0001.jpg" and record["split"] == "valid" and record["batch"] == "night"
    assert record["tags"] == ["cam1", "low-light"] and record["metadata"] == {"site": "gate"}
    assert (record["width"], record["height"]) == (64, 48)
    assert record["sampling_rule"] == "low-confidence" and record["device_id"] == "jetson-7"
    [box] = record["annotations"]
    assert box["kind"] == "prediction" and box["confidence"] == 0.31 and box["class_name"] == "person"
    assert (box["x_min"], box["y_min"], box["x_max"], box["y_max"]) == (15, 16, 25, 24)
    listing = env.client.get(URL, headers=env.auth(), params={"labelled": "false"}).json()
    assert listing["total"] == 1  # predictions are not ground truth


def test_fetch_file_and_thumbnail(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    data = make_jpeg(640, 480, seed=3)
    posted = env.client.post(URL, headers=env.auth(), files={"file": ("x.jpg", data, "image/jpeg")})
    image_id = posted.json()["id"]
    got = env.client.get(f"{URL}/{image_id}/file", headers=env.auth())
    assert got.content == data and got.headers["content-type"] == "image/jpeg"
    thumb = env.client.get(f"{URL}/{image_id}/thumbnail", headers=env.auth(), params={"size": 64})
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    from io import BytesIO

    from PIL import Image

    assert max(Image.open(BytesIO(thumb.content)).size) == 64


def test_upload_by_url_fetches_the_hosted_image(
    env: Any, make_jpeg: Callable[..., bytes], image_host: tuple[str, Any]
) -> None:
    base, folder = image_host
    data = make_jpeg(seed=21)
    (folder / "hosted.jpg").write_bytes(data)
    response = env.client.post(URL, headers=env.auth(), data={"url": f"{base}/hosted.jpg", "split": "test"})
    assert response.status_code == 201, response.text
    record = env.client.get(f"{URL}/{response.json()['id']}", headers=env.auth()).json()
    assert record["name"] == "hosted.jpg" and record["source_url"] == f"{base}/hosted.jpg"
    assert env.client.get(f"{URL}/{record['id']}/file", headers=env.auth()).content == data
    missing = env.client.post(URL, headers=env.auth(), data={"url": f"{base}/nope.jpg"})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "fetch_failed"
    assert env.image_rows() == 1
