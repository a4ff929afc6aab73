"""`framescout export` from a real server's data directory: what a trainer gets back."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from backends import Backends
from framescout import Predictions
from framescout.client import Client
from framescout.server.process import ServerProcess
from helpers import framescout

pytestmark = pytest.mark.both_backends


@dataclass
class Stored:
    """A store (data directory and the environment naming its database and blobs) with acme/lot."""

    data_dir: Path
    env: dict[str, str]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return framescout(*args, "--data-dir", str(self.data_dir), env=self.env)


@pytest.fixture(scope="module")
def project(
    coco_tiny: Path, tmp_path_factory: pytest.TempPathFactory, backend_kind: str, backend_factory: Backends
) -> Stored:
    """A store whose acme/lot project has 6 images: 4 labelled (2 with a split), 2 not."""
    env = backend_factory.make(backend_kind).env
    server = ServerProcess(tmp_path_factory.mktemp("export") / "data", env=env)
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/lot", "--classes", "person,car")
    files = sorted((coco_tiny / "val2017").glob("*.jpg"))[:6]
    with server, Client(server.url, key) as client:
        for i, path in enumerate(files):
            pre = Predictions.from_arrays([[5, 5, 60, 80]], [0.4], [0], class_name=["person"])
            split = ["train", "valid"][i] if i < 2 else None
            image = client.upload_image("acme/lot", path, predictions=pre, split=split)
            if i < 4:
                truth = {"predictions": [{"x": 40, "y": 50, "width": 30, "height": 40, "class": "car"}]}
                client.add_annotations("acme/lot", image.id, json.dumps(truth), format="roboflow")
    return Stored(server.data_dir, env)


def test_coco_export_loads_in_pycocotools(project: Stored, tmp_path: Path) -> None:
    coco = pytest.importorskip("pycocotools.coco", reason="pycocotools is in the dev extra")
    out = tmp_path / "coco"
    result = project.cli("export", "acme/lot", "--format", "coco", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "exported 4 image(s), 4 box(es), 2 class(es) as coco" in result.stdout
    files = sorted(out.glob("*/_annotations.coco.json"))
    total = 0
    for path in files:
        data = coco.COCO(str(path))
        total += len(data.getImgIds())
        anns = data.loadAnns(data.getAnnIds())
        assert [data.loadCats(a["category_id"])[0]["name"] for a in anns] == ["car"] * len(anns)
        assert anns[0]["bbox"] == [25, 30, 30, 40]
    assert total == 4
    assert (out / "train").is_dir() and (out / "valid").is_dir()


def test_yolo_and_labelstudio_exports(project: Stored, tmp_path: Path) -> None:
    yolo = tmp_path / "yolo"
    assert project.cli("export", "acme/lot", "--format", "yolo", "--out", str(yolo)).returncode == 0
    assert yaml.safe_load((yolo / "data.yaml").read_text())["names"] == {0: "person", 1: "car"}
    labels = list(yolo.glob("labels/*/*.txt"))
    assert len(labels) == 4 and all(p.read_text().startswith("1 ") for p in labels)
    ls = tmp_path / "ls"
    result = project.cli("export", "acme/lot", "--format", "labelstudio", "--out", str(ls))
    assert result.returncode == 0, result.stderr
    tasks = json.loads((ls / "tasks.json").read_text())
    assert len(tasks) == 6  # unlabelled images come along as tasks with pre-annotations
    assert sum("annotations" in t for t in tasks) == 4 and all("predictions" in t for t in tasks)


def test_export_errors(project: Stored, tmp_path: Path) -> None:
    result = project.cli("export", "acme/nope", "--format", "coco", "--out", str(tmp_path / "x"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    result = project.cli("export", "acme/lot", "--format", "csv", "--out", str(tmp_path / "y"))
    assert result.returncode == 1 and "unknown format" in result.stderr
    again = tmp_path / "z"
    assert project.cli("export", "acme/lot", "--format", "voc", "--out", str(again)).returncode == 0
    result = project.cli("export", "acme/lot", "--format", "voc", "--out", str(again))
    assert result.returncode == 1 and "already exists" in result.stderr


def test_a_version_is_frozen(project: Stored, tmp_path: Path) -> None:
    created = project.cli("versions", "create", "acme/lot", "v1")
    assert created.returncode == 0, created.stderr
    assert "created version v1 of acme/lot: 4 image(s), 4 box(es)" in created.stdout
    assert "already has a version" in project.cli("versions", "create", "acme/lot", "v1").stderr
    first = tmp_path / "first"
    assert (
        project.cli(
            "export", "acme/lot", "--version", "v1", "--format", "coco", "--out", str(first)
        ).returncode
        == 0
    )

    # the project moves on: one more image gets ground truth
    server = ServerProcess(project.data_dir, env=project.env)
    key = server.create_key("acme")
    with server, Client(server.url, key) as client:
        unlabelled = client.list_images("acme/lot", labelled=False)["images"][0]
        truth = {"predictions": [{"x": 40, "y": 50, "width": 30, "height": 40, "class": "person"}]}
        client.add_annotations("acme/lot", unlabelled["id"], json.dumps(truth), format="roboflow")

    second, live = tmp_path / "second", tmp_path / "live"
    assert (
        project.cli(
            "export", "acme/lot", "--version", "v1", "--format", "coco", "--out", str(second)
        ).returncode
        == 0
    )
    files = [p for p in first.rglob("*") if p.is_file()]
    assert files and all((second / p.relative_to(first)).read_bytes() == p.read_bytes() for p in files)
    now = project.cli("export", "acme/lot", "--format", "coco", "--out", str(live))
    assert "exported 5 image(s)" in now.stdout
    listed = project.cli("versions", "list", "acme/lot")
    assert listed.returncode == 0 and "v1" in listed.stdout
    missing = project.cli(
        "export", "acme/lot", "--version", "v9", "--format", "coco", "--out", str(tmp_path / "n")
    )
    assert missing.returncode == 1 and "no version named 'v9'" in missing.stderr
