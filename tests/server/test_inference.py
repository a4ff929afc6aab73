"""Hosted inference in Roboflow's shape: registered ONNX versions behind ``POST /{project}/{version}``."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest


@pytest.fixture(scope="module")
def registered(live: Any, nanodet_path: Path) -> Any:
    names = nanodet_path.with_name("coco.names")
    live.server.cli(
        "models",
        "add",
        "acme/coco",
        "1",
        "--onnx",
        str(nanodet_path),
        "--format",
        "nanodet",
        "--classes",
        str(names),
    )
    return live


def _post(live: Any, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{live.server.url}{path}", timeout=60, **kwargs)


def test_versions_are_listed(registered: Any) -> None:
    response = httpx.get(
        f"{registered.server.url}/api/v1/projects/acme/coco/versions",
        headers={"Authorization": f"Bearer {registered.key}"},
    )
    [version] = response.json()
    assert version["version"] == 1 and version["format"] == "nanodet" and len(version["classes"]) == 80


def test_inference_errors_are_clear(registered: Any) -> None:
    key = registered.key
    missing = _post(registered, f"/coco/7?api_key={key}", content=b"aGVsbG8=")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "version_not_found"
    garbage = _post(registered, f"/coco/1?api_key={key}", content=b"%%% not base64 %%%")
    assert garbage.status_code == 422 and garbage.json()["error"]["code"] == "invalid_base64"
    not_image = _post(registered, f"/coco/1?api_key={key}", content=base64.b64encode(b"plain text"))
    assert not_image.status_code == 415 and not_image.json()["error"]["code"] == "not_an_image"
    as_image = _post(registered, f"/coco/1?api_key={key}&format=image", content=b"aGVsbG8=")
    assert as_image.status_code == 422 and as_image.json()["error"]["code"] == "unsupported_format"
    other = _post(registered, f"/coco/1?api_key={registered.other_key}", content=b"aGVsbG8=")
    assert other.status_code == 404 and other.json()["error"]["code"] == "project_not_found"
    nothing = _post(registered, f"/coco/1?api_key={key}")
    assert nothing.status_code == 422 and nothing.json()["error"]["code"] == "missing_image"
