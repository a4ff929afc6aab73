"""Exports a trainer can trust: YOLO class ids in the model's order, an empty val split said out loud
(or made on request), COCO ``iscrowd`` through a COCO → store → COCO round trip."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from PIL import Image

from backends import Backend
from framescout.server import Settings, create_app
from framescout.store.accounts import (
    create_key,
    create_project,
    get_or_create_workspace,
    get_project,
    get_workspace,
    register_model,
)
from helpers import framescout


def jpeg(seed: int, size: tuple[int, int] = (200, 150)) -> bytes:
    image = Image.new("RGB", size, ((seed * 41) % 256, (seed * 83) % 256, 90))
    image.putpixel((seed % size[0], 3), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


@dataclass
class Server:
    data: Path
    client: TestClient
    auth: dict[str, str]
    backend: Backend

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A ``framescout`` command on this server's store."""
        return framescout(*args, "--data-dir", str(self.data), env=self.backend.env)

    def upload(
        self, project: str, data: bytes, name: str, truth: list[tuple[str, int]], split: str = ""
    ) -> str:
        """An image with ground truth boxes (class, x offset) via the API, as a user would."""
        response = self.client.post(
            f"/api/v1/projects/acme/{project}/images",
            headers=self.auth,
            files={"file": (name, data, "image/jpeg")},
            data={"split": split} if split else {},
        )
        assert response.status_code == 201, response.text
        image_id = str(response.json()["id"])
        boxes = {
            "predictions": [{"x": 30 + x, "y": 40, "width": 20, "height": 30, "class": c} for c, x in truth]
        }
        saved = self.client.post(
            f"/api/v1/projects/acme/{project}/images/{image_id}/annotations?format=roboflow",
            headers={**self.auth, "Content-Type": "text/plain"},
            content=json.dumps(boxes),
        )
        assert saved.status_code == 201, saved.text
        return image_id


pytestmark = pytest.mark.both_backends


@pytest.fixture
def server(tmp_path: Path, backend: Backend) -> Iterator[Server]:
    store = backend.open(tmp_path / "data")
    with store.db.writing() as session:
        acme = get_or_create_workspace(session, "acme")
        key = create_key(session, acme)
        create_project(session, acme, "street")  # learns its classes
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"), store)) as client:
        yield Server(tmp_path / "data", client, {"Authorization": f"Bearer {key}"}, backend)
    store.close()


def export(server: Server, out: Path, fmt: str, *extra: str) -> str:
    result = server.cli("export", "acme/street", "--format", fmt, "--out", str(out), *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_yolo_ids_follow_the_registered_models_class_list(server: Server, tmp_path: Path) -> None:
    server.upload("street", jpeg(1), "a.jpg", [("car", 0)], split="train")
    server.upload("street", jpeg(2), "b.jpg", [("person", 0), ("car", 50)], split="valid")
    store = server.backend.open(server.data)
    with store.db.writing() as session:
        project = get_project(session, get_workspace(session, "acme"), "street")
        register_model(session, project, 1, "0" * 64, "nanodet", ["person", "bicycle", "car"])
    store.close()
    stdout = export(server, tmp_path / "yolo", "yolo")
    text = (tmp_path / "yolo" / "data.yaml").read_text()
    config = yaml.safe_load(text)
    assert config["names"] == {0: "person", 1: "bicycle", 2: "car"}  # not first seen (car, person)
    assert text.startswith("# class ids: the class list of model version 1 (ids = the model's class ids)")
    assert "class ids: the class list of model version 1" in stdout
    assert (tmp_path / "yolo" / "labels" / "train" / "a.txt").read_text().startswith("2 ")
    assert [
        line.split()[0]
        for line in (tmp_path / "yolo" / "labels" / "valid" / "b.txt").read_text().splitlines()
    ] == ["0", "2"]


def test_a_learning_project_keeps_first_seen_order(server: Server, tmp_path: Path) -> None:
    server.upload("street", jpeg(1), "a.jpg", [("truck", 0)], split="train")
    server.upload("street", jpeg(2), "b.jpg", [("bus", 0), ("truck", 50)], split="valid")
    export(server, tmp_path / "yolo", "yolo")
    text = (tmp_path / "yolo" / "data.yaml").read_text()
    assert yaml.safe_load(text)["names"] == {0: "truck", 1: "bus"}
    assert text.startswith("# class ids: first seen in uploads (the project learns its classes)")


def test_an_empty_val_split_is_said_or_made_on_request(server: Server, tmp_path: Path) -> None:
    for seed in range(6):
        server.upload("street", jpeg(seed), f"i{seed}.jpg", [("car", 0)], split="train")
    stdout = export(server, tmp_path / "plain", "yolo")
    text = (tmp_path / "plain" / "data.yaml").read_text()
    assert "# val: this export has NO validation images; val points at the training images" in text
    assert yaml.safe_load(text)["val"] == "images/train"
    assert (
        "warning: no validation images (the valid split is empty); "
        "data.yaml's val points at the training images" in stdout
    )

    runs = []
    for run in ("one", "two"):
        stdout = export(server, tmp_path / run, "yolo", "--val-fraction", "0.34", "--seed", "3")
        assert "--val-fraction 0.34: moved 2 training image(s) to valid, seed 3" in stdout
        assert "warning" not in stdout
        config = yaml.safe_load((tmp_path / run / "data.yaml").read_text())
        assert (
            config["val"] == "images/valid"
            and "NO validation" not in (tmp_path / run / "data.yaml").read_text()
        )
        runs.append(sorted(p.name for p in (tmp_path / run / "images" / "valid").iterdir()))
        assert len(list((tmp_path / run / "images" / "train").iterdir())) == 4
    assert runs[0] == runs[1]  # deterministic under the seed

    bad = server.cli(
        "export", "acme/street", "--format", "yolo", "--out", str(tmp_path / "x"), "--val-fraction", "1.5"
    )
    assert bad.returncode == 1 and "--val-fraction must be above 0 and below 1" in bad.stderr


def coco_for(image: dict[str, Any], source: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    anns = [a for a in source["annotations"] if a["image_id"] == image["id"]]
    return {"images": [image], "annotations": anns, "categories": source["categories"]}


def test_coco_iscrowd_survives_a_round_trip(server: Server, tmp_path: Path, coco_tiny: Path) -> None:
    coco_api = pytest.importorskip("pycocotools.coco", reason="pycocotools is in the dev extra")
    source = json.loads((coco_tiny / "annotations" / "instances_val2017.json").read_text())
    crowded = sorted({a["image_id"] for a in source["annotations"] if a["iscrowd"]})[:3]
    images = [im for im in source["images"] if im["id"] in crowded]
    assert len(images) == 3
    expected = {}
    for im in images:
        data = (coco_tiny / "val2017" / im["file_name"]).read_bytes()
        response = server.client.post(
            "/api/v1/projects/acme/street/images",
            headers=server.auth,
            files={"file": (im["file_name"], data, "image/jpeg")},
            data={"split": "train"},
        )
        assert response.status_code == 201, response.text
        one = coco_for(im, source)
        saved = server.client.post(
            f"/api/v1/projects/acme/street/images/{response.json()['id']}/annotations?format=coco",
            headers={**server.auth, "Content-Type": "text/plain"},
            content=json.dumps(one),
        )
        assert saved.status_code == 201, saved.text
        names = {c["id"]: c["name"] for c in source["categories"]}
        expected[im["file_name"]] = sorted(
            (names[a["category_id"]], a["iscrowd"], tuple(round(v, 2) for v in a["bbox"]))
            for a in one["annotations"]
        )
    export(server, tmp_path / "coco", "coco")
    out = coco_api.COCO(str(tmp_path / "coco" / "train" / "_annotations.coco.json"))
    got = {}
    for im in out.loadImgs(out.getImgIds()):
        anns = out.loadAnns(out.getAnnIds(imgIds=[im["id"]]))
        got[im["file_name"]] = sorted(
            (out.loadCats(a["category_id"])[0]["name"], a["iscrowd"], tuple(a["bbox"])) for a in anns
        )
    assert got == expected
    assert sum(c for rows in got.values() for _, c, _ in rows) >= 3

    # a frozen dataset version keeps the flag too
    assert server.cli("versions", "create", "acme/street", "v1").returncode == 0
    export(server, tmp_path / "v1", "coco", "--version", "v1")
    frozen = json.loads((tmp_path / "v1" / "train" / "_annotations.coco.json").read_text())
    assert sorted(a["iscrowd"] for a in frozen["annotations"]) == sorted(
        a["iscrowd"]
        for a in json.loads((tmp_path / "coco" / "train" / "_annotations.coco.json").read_text())[
            "annotations"
        ]
    )


def test_a_bad_iscrowd_is_refused(server: Server) -> None:
    response = server.client.post(
        "/api/v1/projects/acme/street/images",
        headers=server.auth,
        files={"file": ("a.jpg", jpeg(1), "image/jpeg")},
    )
    image_id = response.json()["id"]
    coco = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 200, "height": 150}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10], "iscrowd": 2}],
        "categories": [{"id": 1, "name": "car"}],
    }
    saved = server.client.post(
        f"/api/v1/projects/acme/street/images/{image_id}/annotations?format=coco",
        headers={**server.auth, "Content-Type": "text/plain"},
        content=json.dumps(coco),
    )
    assert saved.status_code == 422
    assert saved.json()["error"] == {
        "code": "invalid_annotation",
        "message": "annotations[0].iscrowd must be 0 or 1; got 2",
    }
