"""Evaluation end to end on real data, over a real server process: the coco-tiny val2017 images
uploaded with the real NanoDet-m predictions as version 1 and the COCO annotations as ground truth
(images without any reviewed as empty), a degraded version 2 of the same predictions; the route's
AP, AP50 and per-class AP equal pycocotools' on the boxes the server stores, version 2 scores lower
on the same frames, and ``framescout evaluate`` prints it (exit 1 on an unknown version)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from evaluation.coco_reference import reference
from framescout.client import Client
from framescout.evaluation import EvalImage
from framescout.models import OnnxDetector, load_class_names
from framescout.predictions.box import Box, predictions_from_boxes
from framescout.server.process import ServerProcess

pytestmark = pytest.mark.slow
TARGET = "acme/evalcoco"


@dataclass
class Measured:
    """A running server whose project holds the frames, and the boxes it stores per version."""

    server: ServerProcess
    key: str
    stored: dict[str, list[EvalImage]]

    def client(self) -> Client:
        return Client(self.server.url, self.key)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "framescout", "evaluate", TARGET, *args]
        auth = ["--server", self.server.url, "--api-key", self.key]
        return subprocess.run([*command, *auth], capture_output=True, text=True, timeout=120)


def _degraded(boxes: list[Box], rng: random.Random, size: tuple[int, int]) -> list[Box]:
    """Version 2: a third of version 1's boxes dropped, the rest shifted by up to 20% of their size
    (kept inside the ``(width, height)`` image)."""
    out = []
    for b in boxes:
        if rng.random() < 1 / 3:
            continue
        dx, dy = b.width * rng.uniform(-0.2, 0.2), b.height * rng.uniform(-0.2, 0.2)
        x0, y0 = min(max(b.x_min + dx, 0), size[0] - 1), min(max(b.y_min + dy, 0), size[1] - 1)
        x1, y1 = min(b.x_max + dx, size[0]), min(b.y_max + dy, size[1])
        out.append(Box(b.class_name, x0, y0, max(x1, x0 + 1), max(y1, y0 + 1), b.confidence))
    return out


def _stored(client: Client, ids: list[str], version: str) -> list[EvalImage]:
    """The frames as the server stores them: its ground truth and the version's predictions (in
    upload order)."""
    images = []
    for image_id in ids:
        rows = client.list_annotations(TARGET, image_id)
        truth = [Box.from_row(r) for r in rows if r["kind"] == "ground_truth"]
        mine = [Box.from_row(r) for r in rows if r["kind"] == "prediction" and r["model_version"] == version]
        images.append(EvalImage(image_id, truth, mine))
    return images


@pytest.fixture(scope="module")
def measured(
    tmp_path_factory: pytest.TempPathFactory, nanodet_path: Path, coco_tiny: Path
) -> Iterator[Measured]:
    detector = OnnxDetector(nanodet_path, class_names=load_class_names(nanodet_path.parent / "coco.names"))
    coco_file = coco_tiny / "annotations" / "instances_val2017.json"
    coco = json.loads(coco_file.read_text())
    annotated = {
        i["file_name"] for i in coco["images"] if any(a["image_id"] == i["id"] for a in coco["annotations"])
    }
    server = ServerProcess(tmp_path_factory.mktemp("evaluation") / "data")
    key = server.create_key("acme")
    server.cli("projects", "create", TARGET)
    ids: list[str] = []
    sizes: dict[str, tuple[int, int]] = {}
    with server, Client(server.url, key) as client:
        for n, path in enumerate(sorted((coco_tiny / "val2017").glob("*.jpg"))):
            found = detector.predict(path, 0.05, 0.6, multi_label=True, max_detections=100)
            rule = "low-confidence" if n % 2 else "random"
            image_id = client.upload_image(
                TARGET, path, predictions=found, model_version="1", sampling_rule=rule
            ).id
            if path.name in annotated:
                client.add_annotations(TARGET, image_id, coco_file, format="coco")
            else:
                client.review_image(TARGET, image_id, [], reviewer="tester")  # a true negative
            ids.append(image_id)
            sizes[image_id] = next(
                (i["width"], i["height"]) for i in coco["images"] if i["file_name"] == path.name
            )
        first = _stored(client, ids, "1")
        rng = random.Random(15)
        for image in first:  # version 2 through the predictions route, on the same frames
            degraded = predictions_from_boxes(_degraded(list(image.predictions), rng, sizes[image.image_id]))
            client.add_predictions(TARGET, image.image_id, "2", degraded)
        second = _stored(client, ids, "2")
        yield Measured(server, key, {"1": first, "2": second})


def test_the_route_measures_like_pycocotools_on_the_stored_boxes(measured: Measured) -> None:
    with measured.client() as client:
        body = client.evaluation(TARGET, "1")
    frames = measured.stored["1"]
    # in the route's order (by image id): pycocotools breaks score ties between images by their order
    expected = reference(sorted(frames, key=lambda image: image.image_id))
    assert body["model_version"] == "1" and body["images"] == len(frames) == 80
    assert body["ground_truth_boxes"] == sum(len(i.truth) for i in frames)  # crowd boxes included
    assert body["predictions"] == sum(len(i.predictions) for i in frames)
    assert abs(body["ap"] - expected.ap) <= 0.001 and abs(body["ap50"] - expected.ap50) <= 0.001
    assert 0.2 < body["ap"] < 0.4  # NanoDet-m's known accuracy on COCO
    for name, (ap, ap50) in expected.per_class.items():
        got = body["per_class"][name]
        assert (got["ap"] is None) == (ap is None), name
        if ap is not None:
            assert abs(got["ap"] - ap) <= 0.001 and abs(got["ap50"] - ap50) <= 0.001, name
    assert 0 < body["recommended_threshold"] < 1 and body["pr_curve"]["overall"]["precision"]


def test_a_degraded_version_scores_lower_on_the_same_frames(measured: Measured) -> None:
    with measured.client() as client:
        body = client.evaluation(TARGET, "1", compare="2")
        kept_by_rule = client.evaluation(TARGET, "1", rule="random")
        versions = client.evaluation_versions(TARGET)
    second = reference(measured.stored["2"])
    assert body["images"] == body["compare"]["images"] == 80
    assert abs(body["compare"]["ap"] - second.ap) <= 0.001
    assert body["compare"]["ap"] < body["ap"] and body["compare"]["ap50"] < body["ap50"]
    assert (
        body["delta"]["ap"] == pytest.approx(body["compare"]["ap"] - body["ap"]) and body["delta"]["ap"] < 0
    )
    assert body["delta"]["per_class"]["person"]["ap"] < 0
    assert kept_by_rule["images"] == 40
    assert versions["default"] == "2"
    assert [(v["model_version"], v["evaluable_frames"]) for v in versions["versions"]] == [
        ("1", 80),
        ("2", 80),
    ]


def test_the_cli_prints_the_table_and_refuses_an_unknown_version(measured: Measured) -> None:
    with measured.client() as client:
        body = client.evaluation(TARGET, "1", compare="2")
    single = measured.cli("--model-version", "1")
    assert single.returncode == 0, single.stderr
    assert "version 1 on 80 frames" in single.stdout and f"{body['ap']:.3f}" in single.stdout
    assert "person" in single.stdout and "AP50" in single.stdout
    compared = measured.cli("--model-version", "1", "--compare", "2")
    assert compared.returncode == 0, compared.stderr
    assert "Δ AP" in compared.stdout and f"{body['delta']['ap']:+.3f}" in compared.stdout
    newest = measured.cli("--json")
    assert newest.returncode == 0 and json.loads(newest.stdout)["model_version"] == "2"
    unknown = measured.cli("--model-version", "9")
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1 and "model_version_not_found" in unknown.stderr
    assert unknown.stdout == ""
