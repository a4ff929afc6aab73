"""Hosted inference in Roboflow's shape: registered ONNX versions behind ``POST /{project}/{version}``."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest


@pytest.fixture(scope="module")
def samples(coco_tiny: Path) -> Path:
    folder = coco_tiny.parent / "samples"
    if not folder.is_dir():
        pytest.skip(f"needs {folder} (the ../shared data folder); not present here")
    return folder


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


def _nanodet_or_skip() -> None:
    pytest.importorskip(
        "framescout.models", reason="the ONNX runner (framescout.models) is not in this tree yet"
    )


def test_roboflow_version_model_predict(registered: Any, samples: Path) -> None:
    predictions = registered.roboflow("predict", project="coco", version=1, path=str(samples / "bus.jpg"))
    assert predictions, "NanoDet should find something in bus.jpg"
    assert {"x", "y", "width", "height", "confidence", "class", "class_id", "detection_id"} <= set(
        predictions[0]
    )
    assert all(p["confidence"] >= 0.4 for p in predictions)
    assert "bus" in {p["class"] for p in predictions} or "person" in {p["class"] for p in predictions}


def test_hosted_inference_base64_and_url_agree(
    registered: Any, samples: Path, image_host: tuple[str, Path]
) -> None:
    import shutil

    base, folder = image_host
    shutil.copy(samples / "person.jpg", folder / "infer-person.jpg")
    key = registered.key
    body = base64.b64encode((samples / "person.jpg").read_bytes())
    by_body = _post(registered, f"/coco/1?api_key={key}&confidence=35&overlap=50", content=body).json()
    by_url = _post(
        registered, f"/coco/1?api_key={key}&confidence=35&overlap=50&image={base}/infer-person.jpg"
    ).json()
    strip = [{k: v for k, v in p.items() if k != "detection_id"} for p in by_body["predictions"]]
    assert strip == [{k: v for k, v in p.items() if k != "detection_id"} for p in by_url["predictions"]]
    assert by_body["image"] == by_url["image"] and by_body["image"]["width"] > 0
    only = _post(registered, f"/coco/1?api_key={key}&confidence=35&classes=person", content=body).json()
    assert {p["class"] for p in only["predictions"]} <= {"person"}


def test_hosted_inference_url_follows_the_fetch_policy(registered: Any, image_host: tuple[str, Path]) -> None:
    """``image=`` goes through the same fetch policy as uploads: one error for everything refused."""
    base, folder = image_host
    (folder / "not-an-image.jpg").write_bytes(b"plain text, not a JPEG")
    key = registered.key
    answers = [
        _post(registered, f"/coco/1?api_key={key}&image={url}")
        for url in (
            "http://169.254.169.254/latest/meta-data/",  # link-local: refused, never connected to
            f"http://[::1]:{base.rsplit(':', 1)[1]}/x.jpg",  # loopback outside the allow-list
            f"{base}/missing.jpg",  # allowed host, 404
            f"{base}/not-an-image.jpg",  # allowed host, not an image
        )
    ]
    assert {(a.status_code, a.json()["error"]["code"]) for a in answers} == {(422, "fetch_failed")}
    assert len({a.json()["error"]["message"] for a in answers}) == 1
    missing = _post(registered, f"/coco/7?api_key={key}&image={base}/x.jpg")  # no model: 404 before fetching
    assert missing.status_code == 404


def test_guide_active_learning_flow(registered: Any, coco_tiny: Path, tmp_path: Path) -> None:
    """workspace.active_learning(...) as in the guide, without the similarity keys."""
    import shutil

    folder = tmp_path / "raw"
    folder.mkdir()
    for path in sorted((coco_tiny / "val2017").glob("*.jpg"))[:6]:
        shutil.copy(path, folder / path.name)
    conditionals = {
        "required_objects_count": 1,
        "required_class_count": 1,
        "target_classes": [],
        "minimum_size_requirement": "-inf",
        "maximum_size_requirement": "inf",
        "confidence_interval": [10, 90],
    }
    results = registered.roboflow(
        "active_learning",
        folder=str(folder),
        project="coco",
        version=1,
        destination="picked",
        conditionals=conditionals,
    )
    assert len(results) == 6
    expected = {
        Path(r["image"]).name
        for r in results
        if len(r["predictions"]) >= 1 and any(10 <= p["confidence"] * 100 <= 90 for p in r["predictions"])
    }
    stored = httpx.get(
        f"{registered.server.url}/api/v1/projects/acme/picked/images",
        params={"limit": 1000},
        headers={"Authorization": f"Bearer {registered.key}"},
    ).json()["images"]
    names = {path.name for path in folder.iterdir()}
    assert expected and {im["name"] for im in stored} & names == expected  # and nothing else was sent


def test_sdk_predict_returns_predictions(registered: Any, samples: Path) -> None:
    from framescout.client import Client

    with Client(registered.server.url, registered.key) as client:
        predictions = client.predict("coco", 1, samples / "bus.jpg", confidence=0.4)
    assert len(predictions) > 0 and predictions.image_width and predictions.confidence.min() >= 0.4
