"""The official roboflow package, pointed at a real ``framescout serve`` by API_URL, runs the guide."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.both_backends


@pytest.fixture(scope="module")
def samples(coco_tiny: Path) -> Path:
    folder = coco_tiny.parent / "samples"
    if not folder.is_dir():
        pytest.skip(f"needs {folder} (the ../shared data folder); not present here")
    return folder


def _images(live: Any, project: str, **params: Any) -> dict[str, Any]:
    response = httpx.get(
        f"{live.server.url}/api/v1/projects/acme/{project}/images",
        params=params,
        headers={"Authorization": f"Bearer {live.key}"},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_workspace_and_project_load(live: Any) -> None:
    info = live.roboflow("workspace_info", project="coco")
    assert info["url"] == "acme" and info["id"] == "acme/coco"
    # (other modules add projects to the shared server's workspace) nothing of workspace "other"
    assert {"acme/coco", "acme/picked"} <= set(info["projects"])
    assert all(p.startswith("acme/") for p in info["projects"])


def test_guide_upload_with_retries_is_stored_once(live: Any, samples: Path) -> None:
    image = samples / "bus.jpg"
    first = live.roboflow("upload", project="coco", path=str(image))
    again = live.roboflow("upload", project="coco", path=str(image))
    assert first[0]["image"]["success"] is True
    assert again[0]["image"] == {"duplicate": True, "id": first[0]["image"]["id"], "predictions_added": 0}
    names = [im["name"] for im in _images(live, "coco")["images"]]
    assert names.count("bus.jpg") == 1


def test_upload_with_coco_annotation_batch_tags_and_split(live: Any, coco_tiny: Path) -> None:
    coco_file = coco_tiny / "annotations" / "instances_val2017.json"
    coco = json.loads(coco_file.read_text())
    entry = next(im for im in coco["images"] if any(a["image_id"] == im["id"] for a in coco["annotations"]))
    expected = sum(1 for a in coco["annotations"] if a["image_id"] == entry["id"])
    image = coco_tiny / "val2017" / entry["file_name"]
    options = {
        "annotation_path": str(coco_file),
        "batch_name": "guide",
        "tag_names": ["t1", "t2"],
        "split": "valid",
    }
    [result] = live.roboflow("upload", project="coco", path=str(image), options=options)
    assert result["annotation"]["success"] is True
    record = httpx.get(
        f"{live.server.url}/api/v1/projects/acme/coco/images/{result['image']['id']}",
        headers={"Authorization": f"Bearer {live.key}"},
    ).json()
    assert record["batch"] == "guide" and record["tags"] == ["t1", "t2"] and record["split"] == "valid"
    boxes = [a for a in record["annotations"] if a["kind"] == "ground_truth"]
    assert len(boxes) == expected and (record["width"], record["height"]) == (entry["width"], entry["height"])


def test_upload_a_folder(live: Any, tmp_path: Path, samples: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for name in ("dog.jpg", "person.jpg", "street.png"):
        shutil.copy(samples / name, folder / name)
    (folder / "notes.txt").write_text("not an image")
    results = live.roboflow("upload", project="picked", path=str(folder), options={"batch_name": "folder"})
    assert len(results) == 3
    assert _images(live, "picked", batch="folder")["total"] == 3


def test_upload_a_hosted_image_url(live: Any, samples: Path, image_host: tuple[str, Path]) -> None:
    base, folder = image_host
    shutil.copy(samples / "bus.jpg", folder / "hosted-bus.jpg")  # not uploaded to "picked" elsewhere
    [result] = live.roboflow(
        "upload", project="picked", path=f"{base}/hosted-bus.jpg", options={"tag_names": ["web"]}
    )
    image_id = result["image"]["id"]
    assert image_id in {im["id"] for im in _images(live, "picked", tag="web")["images"]}


# ------------------------------------------------------------------ pre-labels from hosted inference
def _photo(seed: int, size: tuple[int, int] = (96, 72)) -> bytes:
    """A noisy JPEG (so that two seeds never decode to the same pixels)."""
    import io

    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=85)
    return out.getvalue()


def _as_roboflow_sends_it(jpeg: bytes) -> bytes:
    """What ``roboflow``'s ``model.predict(path)`` sends: the file decoded by Pillow, re-encoded as PNG."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).convert("RGB").save(out, format="PNG")
    return out.getvalue()


def _remember_inference(env: Any, data: bytes, model: str, boxes: list[dict[str, Any]], **kw: Any) -> None:
    """Keep a hosted-inference answer exactly as the inference route does (`server.prelabels.remember`)."""
    from framescout.imaging import decode_image
    from framescout.server import prelabels
    from framescout.store.accounts import get_or_create_workspace

    decoded = decode_image(data)
    payload = {"predictions": boxes, "image": {"width": decoded.width, "height": decoded.height}}
    with env.store.db.writing() as session:
        workspace = get_or_create_workspace(session, kw.pop("workspace", "acme"))
    prelabels.remember(env.store.db, workspace, model, data, decoded, payload, **kw)


def _rf_upload(env: Any, project: str, data: bytes, name: str, key: str | None = None) -> str:
    response = env.client.post(
        f"/dataset/{project}/upload",
        params={"api_key": key or env.key, "name": name},
        files={"file": (name, data, "image/jpeg")},
    )
    assert response.status_code == 200 and response.json().get("success"), response.text
    return str(response.json()["id"])


def _record(env: Any, project: str, image_id: str, key: str | None = None) -> dict[str, Any]:
    workspace = "acme" if key is None else "other"
    response = env.client.get(
        f"/api/v1/projects/{workspace}/{project}/images/{image_id}",
        headers={"Authorization": f"Bearer {key or env.key}"},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


BOXES = [
    {"x": 30, "y": 30, "width": 20, "height": 16, "confidence": 0.55, "class": "person", "class_id": 0},
    {"x": 60, "y": 40, "width": 10, "height": 10, "confidence": 0.31, "class": "car", "class_id": 2},
    {"x": 20, "y": 50, "width": 8, "height": 8, "confidence": 0.47, "class": "bird", "class_id": 14},
]


def test_an_upload_right_after_hosted_inference_gets_its_predictions(env: Any) -> None:
    """roboflow infers on a PNG re-encoding and uploads the original JPEG: the pixels match."""
    from datetime import timedelta

    from framescout.store.models import utcnow

    photo = _photo(1)
    _remember_inference(env, _as_roboflow_sends_it(photo), "coco/3", BOXES)
    image_id = _rf_upload(env, "cams", photo, "frame1.jpg")  # cams has the fixed classes person, car, dog
    record = _record(env, "cams", image_id)
    predictions = [a for a in record["annotations"] if a["kind"] == "prediction"]
    assert [(p["class_name"], p["confidence"], p["model_version"]) for p in predictions] == [
        ("person", 0.55, "coco/3"),
        ("car", 0.31, "coco/3"),
    ]  # "bird" is not in the project's fixed class list: dropped, the upload is not refused
    assert predictions[0]["x_min"] == pytest.approx(20) and predictions[0]["y_max"] == pytest.approx(38)
    assert record["source"] == "roboflow" and record["model_version"] == "coco/3"
    assert record["metadata"]["prelabels"]["model"] == "coco/3"
    assert record["metadata"]["prelabels"]["matched"] == "pixels"

    # The same bytes in a learning project: matched by bytes, and the new class is learnt.
    _remember_inference(env, photo, "coco/3", BOXES)
    open_id = _rf_upload(env, "open", photo, "frame1.jpg")
    opened = _record(env, "open", open_id)
    assert opened["metadata"]["prelabels"]["matched"] == "bytes"
    assert [a["class_name"] for a in opened["annotations"]] == ["person", "car", "bird"]

    # Nothing inferred: a bare image, source still said. Another workspace's inference is not used.
    bare = _record(env, "cams", _rf_upload(env, "cams", _photo(2), "frame2.jpg"))
    assert bare["annotations"] == [] and bare["model_version"] is None and bare["source"] == "roboflow"
    other = _rf_upload(env, "secret", photo, "frame1.jpg", key=env.other_key)
    assert _record(env, "secret", other, key=env.other_key)["annotations"] == []

    # Too long ago (outside the window), or other pixels of the same size: no pre-labels.
    old = _photo(3)
    _remember_inference(
        env, _as_roboflow_sends_it(old), "coco/3", BOXES, now=utcnow() - timedelta(minutes=11)
    )
    _remember_inference(env, _as_roboflow_sends_it(_photo(4)), "coco/3", BOXES)
    assert _record(env, "cams", _rf_upload(env, "cams", old, "old.jpg"))["annotations"] == []
    assert _record(env, "cams", _rf_upload(env, "cams", _photo(5), "new.jpg"))["annotations"] == []


def test_the_ui_shows_each_uploads_source(env: Any, make_jpeg: Any) -> None:
    import re

    photo = _photo(7)
    _remember_inference(env, _as_roboflow_sends_it(photo), "coco/3", BOXES)
    from_roboflow = _rf_upload(env, "cams", photo, "rf.jpg")
    native = env.client.post(
        "/api/v1/projects/acme/cams/images",
        headers=env.auth(),
        files={"file": ("api.jpg", make_jpeg(seed=70), "image/jpeg")},
    ).json()["id"]
    collected = env.client.post(
        "/api/v1/projects/acme/cams/images",
        headers=env.auth(),
        files={"file": ("cam.jpg", make_jpeg(seed=71), "image/jpeg")},
        data={"sampling_rule": "low", "metadata": json.dumps({"rule_kind": "confidence_below"})},
    ).json()["id"]
    assert _record(env, "cams", native)["source"] == "api"
    assert _record(env, "cams", collected)["source"] == "collector"

    page = env.client.get("/ui/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token
    env.client.post("/ui/login", data={"api_key": env.key, "login_csrf": token.group(1), "next": "/ui/"})
    grid = env.client.get("/ui/p/cams/images").text
    cards = dict(re.findall(r'data-image-id="(\w+)">.*?class="pill source[^"]*"[^>]*>([^<]+)<', grid, re.S))
    assert cards == {from_roboflow: "roboflow client", native: "API", collected: "collector"}
    assert re.search(rf'data-image-id="{from_roboflow}">.*?2 pred \(min 0\.31\)', grid, re.S)
    review = env.client.get(f"/ui/p/cams/images/{from_roboflow}").text
    assert re.search(r'id="image-source">roboflow client<', review)
    assert re.search(r'id="prelabels">from hosted inference coco/3', review)
    dashboard = env.client.get("/ui/p/cams").text
    assert "(no rule: roboflow client)" in dashboard and "(no rule: API)" in dashboard


def test_active_learning_uploads_carry_the_hosted_predictions_and_their_source(
    live: Any, nanodet_path: Path, coco_tiny: Path, tmp_path: Path
) -> None:
    """The guide's ``workspace.active_learning(...)``: every image it uploads has, as pre-labels, the
    predictions the package itself received from hosted inference, with that model version."""
    live.server.cli("projects", "create", "acme/alsource")
    live.server.cli("projects", "create", "acme/aldest")
    live.server.cli(
        "models", "add", "acme/alsource", "1", "--onnx", str(nanodet_path), "--format", "nanodet",
        "--classes", str(nanodet_path.with_name("coco.names")),
    )  # fmt: skip
    folder = tmp_path / "raw"
    folder.mkdir()
    for path in sorted((coco_tiny / "val2017").glob("*.jpg"))[:6]:
        shutil.copy(path, folder / path.name)
    results = live.roboflow(
        "active_learning",
        folder=str(folder),
        project="alsource",
        version=1,
        destination="aldest",
        conditionals={
            "required_objects_count": 1,
            "required_class_count": 1,
            "confidence_interval": [10, 90],
        },
    )
    seen = {Path(r["image"]).name: r["predictions"] for r in results}
    stored = _images(live, "aldest", limit=1000)["images"]
    assert stored, "active_learning uploaded nothing"
    for summary in stored:
        record = httpx.get(
            f"{live.server.url}/api/v1/projects/acme/aldest/images/{summary['id']}",
            headers={"Authorization": f"Bearer {live.key}"},
        ).json()
        assert record["source"] == "roboflow" and record["model_version"] == "alsource/1", record
        assert record["metadata"]["prelabels"]["matched"] == "pixels"  # inferred on a PNG, uploaded as JPEG
        got = sorted(
            (a["class_name"], round(a["confidence"], 4), round((a["x_min"] + a["x_max"]) / 2, 1))
            for a in record["annotations"]
            if a["kind"] == "prediction"
        )
        want = sorted((p["class"], round(p["confidence"], 4), round(p["x"], 1)) for p in seen[record["name"]])
        assert got == want and got, record["name"]
