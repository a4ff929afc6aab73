"""The official roboflow package, pointed at a real ``framescout serve`` by API_URL, runs the guide."""

from __future__ import annotations

import json
import shutil
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
    assert set(info["projects"]) == {"acme/coco", "acme/picked"}  # nothing of workspace "other"


def test_guide_upload_with_retries_is_stored_once(live: Any, samples: Path) -> None:
    image = samples / "bus.jpg"
    first = live.roboflow("upload", project="coco", path=str(image))
    again = live.roboflow("upload", project="coco", path=str(image))
    assert first[0]["image"]["success"] is True
    assert again[0]["image"] == {"duplicate": True, "id": first[0]["image"]["id"]}
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
