"""Corrected boxes in feedback follow the project's class policy: learnt projects learn, fixed lists
refuse with the valid classes; nothing is stored on refusal. The README's own example, literally."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from framescout.server import Settings, create_app
from framescout.server.process import ServerProcess
from framescout.store import Store
from framescout.store.accounts import create_key, create_project, get_or_create_workspace

PRE = {"predictions": [{"x": 20, "y": 20, "width": 10, "height": 10, "confidence": 0.55, "class": "person"}]}


def corrected(*names: str) -> str:
    return json.dumps(
        {"predictions": [{"x": 21, "y": 20, "width": 12, "height": 10, "class": n} for n in names]}
    )


def classes_of(env: Any, project: str) -> list[str]:
    return list(env.client.get(f"/api/v1/projects/acme/{project}", headers=env.auth()).json()["classes"])


def upload(env: Any, project: str, make_jpeg: Callable[..., bytes], seed: int = 1) -> str:
    response = env.client.post(
        f"/api/v1/projects/acme/{project}/images",
        headers=env.auth(),
        files={"file": ("a.jpg", make_jpeg(seed=seed), "image/jpeg")},
        data={"predictions": json.dumps(PRE)},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_learning_project_learns_classes_from_corrections(
    env: Any, make_jpeg: Callable[..., bytes]
) -> None:
    image_id = upload(env, "open", make_jpeg)
    assert classes_of(env, "open") == ["person"]
    response = env.client.post(
        "/api/v1/projects/acme/open/feedback",
        headers=env.auth(),
        data={"image_id": image_id, "verdict": "wrong", "prediction": "0", "corrected": corrected("dog")},
    )
    assert response.status_code == 201, response.text
    assert response.json()["corrected"][0]["class"] == "dog"
    assert classes_of(env, "open") == ["person", "dog"]
    # with a new image: its predictions' classes and the corrections' are learnt together, in order
    response = env.client.post(
        "/api/v1/projects/acme/open/feedback",
        headers=env.auth(),
        files={"file": ("b.jpg", make_jpeg(seed=2), "image/jpeg")},
        data={
            "verdict": "wrong",
            "prediction": "0",
            "predictions": json.dumps({"predictions": [{**PRE["predictions"][0], "class": "cat"}]}),
            "corrected": corrected("fox"),
        },
    )
    assert response.status_code == 201, response.text
    assert classes_of(env, "open") == ["person", "dog", "cat", "fox"]


def test_a_fixed_class_list_refuses_with_the_valid_classes(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    image_id = upload(env, "cams", make_jpeg)
    before = env.image_rows()
    for data, files in (
        ({"image_id": image_id}, None),
        ({"predictions": json.dumps(PRE)}, {"file": ("n.jpg", make_jpeg(seed=9), "image/jpeg")}),
    ):
        response = env.client.post(
            "/api/v1/projects/acme/cams/feedback",
            headers=env.auth(),
            files=files,
            data={**data, "verdict": "wrong", "prediction": "0", "corrected": corrected("cat")},
        )
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "unknown_class"
        assert "corrected" in error["message"] and "'cat'" in error["message"]
        assert "valid classes are ['person', 'car', 'dog']" in error["message"]
    assert classes_of(env, "cams") == ["person", "car", "dog"]
    assert env.image_rows() == before
    assert env.client.get("/api/v1/projects/acme/cams/reports", headers=env.auth()).json()["total"] == 0
    tags = env.client.get(f"/api/v1/projects/acme/cams/images/{image_id}", headers=env.auth()).json()["tags"]
    assert "feedback" not in tags


def test_a_long_fixed_list_is_named_up_to_fifty(tmp_path: Path, make_jpeg: Callable[..., bytes]) -> None:
    store = Store.open(tmp_path / "data")
    names = [f"c{i:03d}" for i in range(120)]
    with store.db.writing() as session:
        acme = get_or_create_workspace(session, "acme")
        key = create_key(session, acme)
        create_project(session, acme, "many", classes=names)
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"), store)) as client:
        auth = {"Authorization": f"Bearer {key}"}
        response = client.post(
            "/api/v1/projects/acme/many/feedback",
            headers=auth,
            files={"file": ("a.jpg", make_jpeg(seed=3), "image/jpeg")},
            data={"verdict": "correct", "corrected": corrected("zebra")},
        )
    store.close()
    message = response.json()["error"]["message"]
    assert response.status_code == 422 and "'c049'" in message and "'c050'" not in message
    assert "(the first 50 of 120)" in message


@pytest.fixture
def capped(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Store]]:
    """A server whose requests may teach at most 2 new classes."""
    store = Store.open(tmp_path / "data")
    with store.db.writing() as session:
        acme = get_or_create_workspace(session, "acme")
        key = create_key(session, acme)
        create_project(session, acme, "open")
    settings = Settings(data_dir=tmp_path / "data", max_new_classes=2)
    with TestClient(create_app(settings, store)) as client:
        yield client, {"Authorization": f"Bearer {key}"}, store
    store.close()


def test_corrections_stay_within_the_class_caps(
    capped: tuple[TestClient, dict[str, str], Store], make_jpeg: Callable[..., bytes]
) -> None:
    client, auth, store = capped
    base = "/api/v1/projects/acme/open"
    # predictions bring 'person' and the corrections 'dog', 'cat': 3 new classes in one request
    response = client.post(
        f"{base}/feedback",
        headers=auth,
        files={"file": ("a.jpg", make_jpeg(seed=4), "image/jpeg")},
        data={
            "verdict": "wrong",
            "prediction": "0",
            "predictions": json.dumps(PRE),
            "corrected": corrected("dog", "cat"),
        },
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "too_many_new_classes"
    assert client.get(f"{base}/images", headers=auth).json()["total"] == 0
    assert client.get(base, headers=auth).json()["classes"] == []
    assert not [p for p in (store.data_dir / "blobs").glob("??/??/*") if p.is_file()]
    ok = client.post(
        f"{base}/feedback",
        headers=auth,
        files={"file": ("a.jpg", make_jpeg(seed=4), "image/jpeg")},
        data={
            "verdict": "wrong",
            "prediction": "0",
            "predictions": json.dumps(PRE),
            "corrected": corrected("dog"),
        },
    )
    assert ok.status_code == 201, ok.text
    assert client.get(base, headers=auth).json()["classes"] == ["person", "dog"]


def test_the_readme_feedback_example_works_on_a_real_server(tmp_path: Path) -> None:
    """The README's quick start project (classes learnt) and its JS FormData fields, sent as multipart."""
    server = ServerProcess(tmp_path / "data")
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/street")  # the README's line: classes are learnt from uploads
    image = Image.new("RGB", (320, 240), (90, 120, 60))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    auth = {"Authorization": f"Bearer {key}"}
    with server, httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
        upload = client.post(
            "/api/v1/projects/acme/street/images",
            files={"file": ("frame.jpg", buffer.getvalue(), "image/jpeg")},
            data={
                "predictions": json.dumps(
                    {
                        "predictions": [
                            {"x": 118, "y": 82, "width": 44, "height": 58, "confidence": 0.41, "class": "cat"}
                        ]
                    }
                )
            },
        )
        assert upload.status_code == 201, upload.text
        image_id = upload.json()["id"]
        # form.append(...) x 5, exactly as in README.md; JSON.stringify writes compact JSON
        form = {
            "verdict": (None, "wrong"),
            "image_id": (None, image_id),
            "prediction": (None, "0"),
            "corrected": (
                None,
                json.dumps(
                    {"predictions": [{"x": 120, "y": 80, "width": 40, "height": 60, "class": "dog"}]},
                    separators=(",", ":"),
                ),
            ),
            "app_version": (None, "web 2.3.1"),
        }
        response = client.post("/api/v1/projects/acme/street/feedback", files=form)
        assert response.status_code == 201, response.text
        report = response.json()
        assert report["verdict"] == "wrong" and report["corrected"][0]["class"] == "dog"
        assert report["app_version"] == "web 2.3.1"
        assert client.get("/api/v1/projects/acme/street").json()["classes"] == ["cat", "dog"]
        listed = client.get("/api/v1/projects/acme/street/reports?kind=feedback").json()
        assert listed["total"] == 1
