"""Bad input: each case answers a clear 4xx JSON error and leaves no database record and no file behind."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

URL = "/api/v1/projects/acme/cams/images"


def png_bomb(side: int = 5000) -> bytes:
    """A few KB of PNG that decodes to ``side``² pixels (over the test server's 4 MP cap)."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, format="PNG", optimize=True)
    return out.getvalue()


def assert_nothing_stored(env: Any) -> None:
    assert env.image_rows() == 0
    assert env.stored_blobs() == []
    assert list((env.store.data_dir / "blobs" / "tmp").iterdir()) == []


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code and body["error"]["message"]


def test_missing_key_is_401(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    response = env.client.post(URL, files={"file": ("a.jpg", make_jpeg(), "image/jpeg")})
    assert_error(response, 401, "missing_api_key")
    assert_nothing_stored(env)


def test_wrong_key_is_401(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    response = env.client.post(
        URL, headers=env.auth("fs_not-a-key"), files={"file": ("a.jpg", make_jpeg(), "image/jpeg")}
    )
    assert_error(response, 401, "invalid_api_key")
    response = env.client.post(URL + "?api_key=nope", files={"file": ("a.jpg", make_jpeg(), "image/jpeg")})
    assert_error(response, 401, "invalid_api_key")
    assert_nothing_stored(env)


def test_key_of_another_workspace_sees_nothing(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    mine = env.client.post(
        URL, headers=env.auth(), files={"file": ("a.jpg", make_jpeg(seed=9), "image/jpeg")}
    )
    image_id = mine.json()["id"]
    other = env.auth(env.other_key)
    upload = env.client.post(URL, headers=other, files={"file": ("b.jpg", make_jpeg(seed=10), "image/jpeg")})
    assert_error(upload, 404, "workspace_not_found")
    for path in (
        "/api/v1/projects/acme",
        "/api/v1/projects/acme/cams",
        URL,
        f"{URL}/{image_id}",
        f"{URL}/{image_id}/file",
        f"{URL}/{image_id}/thumbnail",
        "/acme",
        "/acme/cams",
    ):
        assert env.client.get(path, headers=other).status_code == 404, path
    # Roboflow-style routes resolve projects in the key's own workspace only.
    compat = env.client.post(
        f"/dataset/cams/upload?api_key={env.other_key}",
        files={"file": ("c.jpg", make_jpeg(seed=11), "image/jpeg")},
    )
    assert_error(compat, 404, "project_not_found")
    own = env.client.get("/api/v1/projects/other", headers=other).json()
    assert [p["slug"] for p in own] == ["secret"]
    workspace = env.client.get("/other", headers=other).json()["workspace"]
    assert [p["id"] for p in workspace["projects"]] == ["other/secret"]
    assert env.image_rows() == 1 and len(env.stored_blobs()) == 1


def _truncated(make_jpeg: Callable[..., bytes]) -> bytes:
    return make_jpeg(640, 480, seed=5)[:2000]


def _corrupt(make_jpeg: Callable[..., bytes]) -> bytes:
    data = bytearray(make_jpeg(640, 480, seed=6))
    data[200:1200] = b"\x00" * 1000
    data[-500:] = b"\xff" * 500
    return bytes(data)


BAD_FILES: dict[str, tuple[Callable[[Callable[..., bytes]], bytes], int, set[str]]] = {
    "truncated": (_truncated, 422, {"corrupt_image"}),
    "corrupt": (_corrupt, 422, {"corrupt_image"}),
    "not-an-image": (lambda _: b"%PDF-1.4 definitely not a picture" * 10, 415, {"not_an_image"}),
    "empty": (lambda _: b"", 422, {"empty", "validation_error"}),
    "decompression-bomb": (lambda _: png_bomb(), 422, {"too_many_pixels"}),
    "over-byte-cap": (lambda _: b"\xff\xd8" + b"\x00" * 3_000_000, 413, {"too_large"}),
    "over-request-cap": (lambda _: b"\xff\xd8" + b"\x00" * 5_000_000, 413, {"too_large"}),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_image_bytes(env: Any, make_jpeg: Callable[..., bytes], case: str) -> None:
    build, status, codes = BAD_FILES[case]
    response = env.client.post(
        URL, headers=env.auth(), files={"file": ("x.jpg", build(make_jpeg), "image/jpeg")}
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] in codes
    assert_nothing_stored(env)


@pytest.mark.parametrize(
    "name", ["../evil.jpg", "a/b.jpg", "a\\b.jpg", "..", "x\x00.jpg", "ok/../../etc/passwd"]
)
def test_file_names_with_path_tricks(env: Any, make_jpeg: Callable[..., bytes], name: str) -> None:
    response = env.client.post(
        URL, headers=env.auth(), files={"file": ("x.jpg", make_jpeg(), "image/jpeg")}, data={"name": name}
    )
    assert_error(response, 422, "invalid_name")
    assert_nothing_stored(env)


PREDICTION = {"x": 20, "y": 20, "width": 10, "height": 10, "confidence": 0.5, "class": "person"}

BAD_FIELDS: dict[str, tuple[dict[str, str], str]] = {
    "metadata-malformed": ({"metadata": '{"site": '}, "malformed_json"),
    "metadata-not-object": ({"metadata": "[1, 2]"}, "invalid_metadata"),
    "predictions-malformed": ({"predictions": '{"predictions": ['}, "malformed_json"),
    "predictions-missing-key": (
        {"predictions": json.dumps({"predictions": [{"x": 1}]})},
        "invalid_predictions",
    ),
    "predictions-unknown-class": (
        {"predictions": json.dumps({"predictions": [{**PREDICTION, "class": "unicorn"}]})},
        "unknown_class",
    ),
    "predictions-outside-image": (
        {"predictions": json.dumps({"predictions": [{**PREDICTION, "x": 500}]})},
        "box_outside_image",
    ),
    "bad-split": ({"split": "holdout"}, "invalid_split"),
}


@pytest.mark.parametrize("case", BAD_FIELDS)
def test_bad_upload_fields(env: Any, make_jpeg: Callable[..., bytes], case: str) -> None:
    data, code = BAD_FIELDS[case]
    response = env.client.post(
        URL, headers=env.auth(), files={"file": ("x.jpg", make_jpeg(), "image/jpeg")}, data=data
    )
    assert_error(response, 422, code)
    assert_nothing_stored(env)


def test_missing_file_and_non_http_url(env: Any) -> None:
    assert_error(env.client.post(URL, headers=env.auth(), data={"name": "a.jpg"}), 422, "missing_file")
    response = env.client.post(URL, headers=env.auth(), data={"url": "file:///etc/passwd"})
    assert_error(response, 422, "invalid_url")
    assert_nothing_stored(env)


def _uploaded(env: Any, make_jpeg: Callable[..., bytes]) -> str:
    response = env.client.post(URL, headers=env.auth(), files={"file": ("a.jpg", make_jpeg(), "image/jpeg")})
    image_id: str = response.json()["id"]
    return image_id


BAD_ANNOTATIONS: dict[str, tuple[str, str, str]] = {
    "unknown-class": (
        "roboflow",
        json.dumps({"predictions": [{**PREDICTION, "class": "unicorn"}]}),
        "unknown_class",
    ),
    "outside-image": ("yolo", "0 1.5 0.5 0.2 0.2", "box_outside_image"),
    "malformed-json": ("coco", '{"images": [', "malformed_json"),
    "malformed-xml": ("voc", "<annotation><object>", "malformed_xml"),
    "xml-entities": ("voc", '<!DOCTYPE a [<!ENTITY x "y">]><annotation/>', "invalid_annotation"),
    "yolo-garbage": ("yolo", "person 0.5 0.5", "invalid_annotation"),
    "coco-unknown-category": (
        "coco",
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.jpg"}],
                "annotations": [{"image_id": 1, "bbox": [1, 1, 5, 5], "category_id": 7}],
                "categories": [],
            }
        ),
        "unknown_class",
    ),
}


@pytest.mark.parametrize("case", BAD_ANNOTATIONS)
def test_bad_annotations_store_nothing(env: Any, make_jpeg: Callable[..., bytes], case: str) -> None:
    fmt, content, code = BAD_ANNOTATIONS[case]
    image_id = _uploaded(env, make_jpeg)
    response = env.client.post(
        f"{URL}/{image_id}/annotations",
        headers={**env.auth(), "Content-Type": "text/plain"},
        params={"format": fmt},
        content=content.encode(),
    )
    assert_error(response, 422, code)
    assert env.client.get(f"{URL}/{image_id}/annotations", headers=env.auth()).json() == []


def test_roboflow_annotate_with_malformed_json_body(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    image_id = _uploaded(env, make_jpeg)
    response = env.client.post(
        f"/dataset/cams/annotate/{image_id}?api_key={env.key}&name=a.json",
        content=b'{"annotationFile": ',
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 422, "malformed_json")


def test_malformed_json_body_on_project_create(env: Any) -> None:
    response = env.client.post(
        "/api/v1/projects/acme", headers={**env.auth(), "Content-Type": "application/json"}, content=b"{nope"
    )
    assert_error(response, 422, "malformed_json")
    response = env.client.post("/api/v1/projects/acme", headers=env.auth(), json={"name": "../up"})
    assert_error(response, 422, "invalid_project")


def test_unknown_routes_and_methods_are_json_errors(env: Any) -> None:
    assert_error(env.client.get("/api/v1/nothing/here/at/all", headers=env.auth()), 404, "not_found")
    assert_error(env.client.delete("/api/v1/projects/acme", headers=env.auth()), 405, "method_not_allowed")
