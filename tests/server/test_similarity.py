"""The similarity endpoint behind roboflow's CLIP_FEATURIZE_URL, and active_learning with the
guide's similarity keys against a real server."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from framescout.imaging import encode_jpeg, read_image_file, to_bgr


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_same_picture_is_similar_and_different_ones_are_not(env: Any, coco_tiny: Path) -> None:
    files = sorted((coco_tiny / "val2017").glob("*.jpg"))[:2]
    a, b = (f.read_bytes() for f in files)
    again = encode_jpeg(to_bgr(read_image_file(files[0])), quality=60)  # re-encoded copy of the first
    post: Callable[[bytes, bytes], httpx.Response] = lambda x, y: env.client.post(  # noqa: E731
        "/api/v1/similarity",
        headers={**env.auth(), "Content-Type": "text/plain"},
        content=json.dumps({"image1": b64(x), "image2": b64(y)}),
    )
    same, copy, other = post(a, a).json(), post(a, again).json(), post(a, b).json()
    assert same["similarity"] == 1.0
    assert copy["similarity"] >= 0.9 > other["similarity"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("not json", 422, "malformed_json"),
        ('["a"]', 422, "malformed_json"),
        ('{"image1": "abc"}', 422, "invalid_base64"),
        (json.dumps({"image1": b64(b"hello"), "image2": b64(b"hello")}), 422, "not_an_image"),
        ('{"image2": "aGVsbG8="}', 422, "missing_image"),
    ],
)
def test_bad_requests(env: Any, body: str, status: int, code: str) -> None:
    response = env.client.post("/api/v1/similarity", headers=env.auth(), content=body)
    assert response.status_code == status and response.json()["error"]["code"] == code


def test_needs_a_key(env: Any) -> None:
    assert env.client.post("/api/v1/similarity", content="{}").status_code == 401


def test_roboflow_active_learning_with_similarity_keys(
    live: Any, nanodet_path: Path, coco_tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live.server.cli("projects", "create", "acme/simsource")
    live.server.cli("projects", "create", "acme/simpicked")
    live.server.cli(
        "models",
        "add",
        "acme/simsource",
        "1",
        "--onnx",
        str(nanodet_path),
        "--format",
        "nanodet",
        "--classes",
        str(nanodet_path.parent / "coco.names"),
    )
    folder = tmp_path / "raw"
    folder.mkdir()
    first = sorted((coco_tiny / "val2017").glob("*.jpg"))[0]
    for i in range(4):  # four copies of one picture: the similarity filter must skip look-alikes
        shutil.copy(first, folder / f"same{i}.jpg")
    monkeypatch.setenv("CLIP_FEATURIZE_URL", f"{live.server.url}/api/v1/similarity?api_key={live.key}")
    results = live.roboflow(
        "active_learning",
        folder=str(folder),
        project="simsource",
        version=1,
        destination="simpicked",
        conditionals={
            "required_objects_count": 0,
            "confidence_interval": [0, 100],
            "similarity_confidence_threshold": 0.9,
            "similarity_timeout_limit": 3,
        },
    )
    # roboflow compares every image with the last one that passed (the first file to begin with);
    # identical copies (similarity 1.0) are skipped until the timeout counter reaches 3, which lets
    # exactly one through as the new reference (which one depends on the folder's listing order)
    assert len(results) == 1 and Path(results[0]["image"]).name.startswith("same")
