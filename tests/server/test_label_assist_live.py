"""Label assist in a real ``framescout serve`` with two worker processes and the real NanoDet-m model:
bare uploads by the official ``roboflow`` package and by plain API calls are pre-labelled within
seconds, uploads that carry predictions are left alone, and no image is labelled twice."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from backends import Backend, Backends
from framescout.server.process import ServerProcess
from framescout.store.models import PREDICTION, Annotation, LabelAssist
from framescout.store.provenance import LABEL_ASSIST
from server.conftest import Live

pytestmark = pytest.mark.both_backends

PROJECT = "assisted"


@dataclass
class Assisted:
    live: Live
    backend: Backend

    def get(self, path: str, **params: Any) -> Any:
        url = f"{self.live.server.url}/api/v1/projects/acme/{PROJECT}{path}"
        response = httpx.get(url, params=params, headers={"Authorization": f"Bearer {self.live.key}"})
        assert response.status_code == 200, response.text
        return response.json()

    def predictions(self, image_id: str, *, wait: float = 30.0) -> list[dict[str, Any]]:
        """The image's predictions once label assist has written them (or ``[]`` after ``wait``)."""
        deadline = time.monotonic() + wait
        while True:
            found = [a for a in self.get(f"/images/{image_id}")["annotations"] if a["kind"] == PREDICTION]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


@pytest.fixture(scope="module")
def assisted(
    tmp_path_factory: pytest.TempPathFactory, backend_kind: str, backend_factory: Backends, nanodet_path: Path
) -> Iterator[Assisted]:
    backend = backend_factory.make(backend_kind)
    env = {
        **backend.env,
        "FRAMESCOUT_LABEL_ASSIST": "on",
        "FRAMESCOUT_LABEL_ASSIST_INTERVAL": "0.2",
    }
    server = ServerProcess(Path(tmp_path_factory.mktemp("assist")) / "data", env=env, workers=2)
    key, other_key = server.create_key("acme"), server.create_key("other")
    server.cli("projects", "create", f"acme/{PROJECT}")
    server.cli(
        "models", "add", f"acme/{PROJECT}", "1", "--onnx", str(nanodet_path), "--format", "nanodet",
        "--classes", str(nanodet_path.with_name("coco.names")),
    )  # fmt: skip
    with server:
        yield Assisted(Live(server, key, other_key), backend)


def test_roboflow_uploads_get_the_models_predictions_marked_server_made(
    assisted: Assisted, samples: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for name in ("bus.jpg", "person.jpg"):
        shutil.copy(samples / name, folder / name)
    results = assisted.live.roboflow("upload", project=PROJECT, path=str(folder))
    started = time.monotonic()
    for result in results:
        image_id = result["image"]["id"]
        boxes = assisted.predictions(image_id)
        assert boxes, f"{image_id} got no pre-labels within 30 s"
        assert all(b["model_version"] == "1" and b["created_by"] == LABEL_ASSIST for b in boxes)
        name = assisted.get(f"/images/{image_id}")["name"]
        # The same model answers the package's own model.predict() (hosted inference) with the same boxes.
        hosted = assisted.live.roboflow("predict", project=PROJECT, version=1, path=str(folder / name))
        got = sorted((b["class_name"], round((b["x_min"] + b["x_max"]) / 2)) for b in boxes)
        assert got == sorted((p["class"], round(p["x"])) for p in hosted), name
    assert time.monotonic() - started < 60


def test_plain_api_uploads_are_labelled_once_and_carried_predictions_are_kept(
    assisted: Assisted, coco_tiny: Path, samples: Path
) -> None:
    url = f"{assisted.live.server.url}/api/v1/projects/acme/{PROJECT}/images"
    auth = {"Authorization": f"Bearer {assisted.live.key}"}
    bare: list[str] = []
    for path in sorted((coco_tiny / "val2017").glob("*.jpg"))[:12]:
        response = httpx.post(url, headers=auth, files={"file": (path.name, path.read_bytes(), "image/jpeg")})
        assert response.status_code == 201, response.text
        bare.append(response.json()["id"])
    box = {"x": 40, "y": 40, "width": 20, "height": 20, "confidence": 0.9, "class": "kite"}
    carried = httpx.post(
        url,
        headers=auth,
        files={"file": ("carried.jpg", (samples / "dog.jpg").read_bytes(), "image/jpeg")},
        data={"predictions": json.dumps({"predictions": [box]}), "model_version": "edge-9"},
    )
    assert carried.status_code == 201, carried.text
    carried_id = carried.json()["id"]

    deadline = time.monotonic() + 60
    store = assisted.backend.open(assisted.live.server.data_dir)
    try:
        while True:
            with store.db.reading() as session:
                rows = {r.image_id: r for r in session.scalars(select(LabelAssist))}
            if all(i in rows and rows[i].state == "done" for i in bare) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert [rows.get(i) and rows[i].state for i in bare] == ["done"] * len(bare)
        assert carried_id not in rows
        with store.db.reading() as session:
            counted = dict(
                session.execute(
                    select(Annotation.image_id, func.count())
                    .where(Annotation.kind == PREDICTION, Annotation.image_id.in_(bare))
                    .group_by(Annotation.image_id)
                ).all()
            )
            positions = session.execute(
                select(Annotation.image_id, Annotation.position).where(Annotation.image_id.in_(bare))
            ).all()
        workers = {rows[i].claimed_by for i in bare}
    finally:
        store.close()
    assert sum(rows[i].boxes or 0 for i in bare) > 0  # real frames: the model finds objects
    assert {i: counted.get(i, 0) for i in bare} == {i: rows[i].boxes for i in bare}  # written once each
    assert len(positions) == len(set(positions))
    assert all(w.count(":") == 2 for w in workers)
    listed = {im["id"] for im in assisted.get("/images", assist="server", limit=1000)["images"]}
    assert set(bare) <= listed and carried_id not in listed
    [kept] = assisted.get(f"/images/{carried_id}")["annotations"]
    assert (kept["class_name"], kept["model_version"], kept["created_by"]) == ("kite", "edge-9", None)


def test_active_learning_uploads_keep_their_hosted_prelabels(
    assisted: Assisted, coco_tiny: Path, tmp_path: Path
) -> None:
    """``workspace.active_learning`` uploads bare images, but this server already attaches the hosted
    inference the package just made (`server.prelabels`): label assist must not add a second set,
    although the destination is a project with a model."""
    folder = tmp_path / "raw"
    folder.mkdir()
    for path in sorted((coco_tiny / "val2017").glob("*.jpg"))[12:16]:
        shutil.copy(path, folder / path.name)
    conditionals = {"required_objects_count": 1, "required_class_count": 1, "confidence_interval": [10, 90]}
    results = assisted.live.roboflow(
        "active_learning",
        folder=str(folder),
        project=PROJECT,
        version=1,
        destination=PROJECT,
        conditionals=conditionals,
    )
    names = {Path(r["image"]).name for r in results}
    assert names, "active_learning uploaded nothing"
    time.sleep(1.5)  # several label-assist passes of both workers
    listed = [im for im in assisted.get("/images", limit=1000)["images"] if im["name"] in names]
    assert len(listed) == len(names)
    for summary in listed:
        boxes = [
            a for a in assisted.get(f"/images/{summary['id']}")["annotations"] if a["kind"] == PREDICTION
        ]
        assert boxes and all(b["model_version"] == f"{PROJECT}/1" and b["created_by"] is None for b in boxes)
