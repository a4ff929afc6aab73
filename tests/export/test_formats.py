"""Exporters: each format written from the same small dataset and read back with its own tools."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from PIL import Image

from framescout.export import FORMATS, Box, ExportDataset, ExportError, ExportImage, export, safe_name


def jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def dataset() -> ExportDataset:
    images = [
        ExportImage(
            "a1",
            "cam/one.jpg",
            640,
            480,
            "train",
            boxes=[Box("car", 10, 20, 110, 70), Box("person", 300, 100, 340, 220)],
            predictions=[Box("car", 12, 18, 108, 72, 0.81)],
            model_version="3",
        ),
        ExportImage("b2", "../../etc/passwd.jpg", 320, 240, "valid", boxes=[Box("person", 0, 0, 320, 240)]),
        ExportImage("c3", "one.jpg", 640, 480, "test", boxes=[]),  # same name as a1, different image
    ]
    sizes = {image.id: (image.width, image.height) for image in images}
    return ExportDataset("lot", ["car", "person"], images, lambda image: jpeg(*sizes[image.id]))


def test_coco_loads_in_pycocotools(tmp_path: Path, dataset: ExportDataset) -> None:
    coco_module = pytest.importorskip("pycocotools.coco", reason="pycocotools is in the dev extra")
    out = export(dataset, tmp_path / "coco", "coco")
    train = coco_module.COCO(str(out / "train" / "_annotations.coco.json"))
    assert [c["name"] for c in train.loadCats(train.getCatIds())] == ["car", "person"]
    anns = train.loadAnns(train.getAnnIds())
    assert sorted(a["bbox"] for a in anns) == [[10, 20, 100, 50], [300, 100, 40, 120]]
    image = train.loadImgs(train.getImgIds())[0]
    assert (out / "train" / image["file_name"]).is_file() and image["width"] == 640
    valid = json.loads((out / "valid" / "_annotations.coco.json").read_text())
    assert valid["images"][0]["file_name"] == "passwd.jpg"  # no path tricks survive
    assert not (out / "test" / "_annotations.coco.json").read_text().count('"category_id"')


def test_yolo_matches_the_ultralytics_layout(tmp_path: Path, dataset: ExportDataset) -> None:
    out = export(dataset, tmp_path / "yolo", "yolo")
    config = yaml.safe_load((out / "data.yaml").read_text())
    assert config["names"] == {0: "car", 1: "person"} and config["nc"] == 2
    assert (config["train"], config["val"], config["test"]) == ("images/train", "images/valid", "images/test")
    label = (out / "labels" / "train" / "one.txt").read_text().splitlines()
    cls, cx, cy, w, h = label[0].split()
    assert cls == "0"
    assert [float(v) for v in (cx, cy, w, h)] == pytest.approx(
        [60 / 640, 45 / 480, 100 / 640, 50 / 480], abs=1e-6
    )
    assert (out / "images" / "test" / "c3_one.jpg").is_file()
    assert (out / "labels" / "test" / "c3_one.txt").read_text() == ""  # a background image


def test_voc_xml(tmp_path: Path, dataset: ExportDataset) -> None:
    out = export(dataset, tmp_path / "voc", "voc")
    root = ET.parse(out / "Annotations" / "one.xml").getroot()
    objects = root.findall("object")
    assert [o.findtext("name") for o in objects] == ["car", "person"]
    box = objects[0].find("bndbox")
    assert box is not None
    assert [box.findtext(k) for k in ("xmin", "ymin", "xmax", "ymax")] == ["11", "21", "110", "70"]
    assert (out / "ImageSets" / "Main" / "val.txt").read_text().split() == ["passwd"]


def test_label_studio_tasks_carry_predictions_as_pre_annotations(
    tmp_path: Path, dataset: ExportDataset
) -> None:
    out = export(dataset, tmp_path / "ls", "labelstudio")
    tasks = json.loads((out / "tasks.json").read_text())
    first = tasks[0]
    assert first["data"]["image"].endswith("images/one.jpg")
    truth = first["annotations"][0]["result"]
    assert truth[0]["value"]["rectanglelabels"] == ["car"]
    assert truth[0]["value"]["x"] == pytest.approx(100 * 10 / 640)
    prediction = first["predictions"][0]
    assert prediction["model_version"] == "3" and prediction["result"][0]["score"] == 0.81
    assert "predictions" not in tasks[1]
    assert '<Label value="person"/>' in (out / "labeling_config.xml").read_text()


def test_bad_datasets_and_targets_leave_nothing_behind(tmp_path: Path, dataset: ExportDataset) -> None:
    with pytest.raises(ValueError, match="classes not in the project: dog"):
        ExportDataset(
            "x",
            ["car"],
            [ExportImage("i", "i.jpg", 10, 10, boxes=[Box("dog", 0, 0, 1, 1)])],
            lambda image: b"",
        )
    with pytest.raises(ValueError, match="split"):
        ExportDataset("x", ["car"], [ExportImage("i", "i.jpg", 10, 10, split="holdout")], lambda image: b"")
    target = tmp_path / "taken"
    target.mkdir()
    (target / "something").write_text("x")
    with pytest.raises(ExportError, match="already exists"):
        export(dataset, target, "coco")
    with pytest.raises(ExportError, match="unknown export format"):
        export(dataset, tmp_path / "new", "csv")

    def broken(image: ExportImage) -> bytes:
        raise OSError("disk full")

    failing = ExportDataset("lot", ["car", "person"], dataset.images, broken)
    for fmt in FORMATS:
        with pytest.raises(OSError):
            export(failing, tmp_path / f"half-{fmt}", fmt)
        assert not (tmp_path / f"half-{fmt}").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


@pytest.mark.parametrize(
    ("name", "safe"), [("../../x.jpg", "x.jpg"), ("a b\\c.png", "c.png"), ("..", ""), ("ok.jpg", "ok.jpg")]
)
def test_safe_names(name: str, safe: str) -> None:
    assert safe_name(name) == safe
