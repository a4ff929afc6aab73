"""Label assist in-process, on a real store (SQLite + files, and PostgreSQL + S3): the worker's passes
driven one at a time (`LabelAssistant.run_once`), with the real NanoDet-m model and a broken one."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from framescout.imaging import sha256_hex
from framescout.models.classes import load_class_names
from framescout.server import Settings
from framescout.server.inference import ModelRegistry
from framescout.server.label_assist import LabelAssistant
from framescout.store.accounts import get_project, get_workspace, register_model
from framescout.store.deployments import deploy
from framescout.store.label_assist import claim, current_model
from framescout.store.models import PREDICTION, Annotation, LabelAssist, utcnow
from framescout.store.prediction_versions import has_version
from framescout.store.provenance import LABEL_ASSIST
from server.web.test_pages import sign_in

pytestmark = pytest.mark.both_backends

URL = "/api/v1/projects/acme/open/images"


def _register(env: Any, model: Path, version: int, fmt: str | None, names: list[str]) -> None:
    """Register a model file as ``version`` of acme/open (directly: `models add` refuses broken ones)."""
    digest = sha256_hex(model.read_bytes())
    shutil.copyfile(model, env.store.models_dir / f"{digest}.onnx")
    with env.store.db.writing() as session:
        project = get_project(session, get_workspace(session, "acme"), "open")
        register_model(session, project, version, digest, fmt, names)


def _nanodet(env: Any, path: Path, version: int = 1) -> None:
    _register(env, path, version, "nanodet", list(load_class_names(path.with_name("coco.names"))))


def _assistant(env: Any, tmp_path: Path, **settings: Any) -> LabelAssistant:
    config = Settings(data_dir=tmp_path / "data", label_assist=False, **settings)
    return LabelAssistant(env.store, ModelRegistry(env.store.models_dir), config)


def _upload(env: Any, data: bytes, name: str, **fields: Any) -> str:
    files = {"file": (name, data, "image/png" if name.endswith(".png") else "image/jpeg")}
    response = env.client.post(URL, headers=env.auth(), files=files, data=fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _record(env: Any, image_id: str) -> dict[str, Any]:
    found: dict[str, Any] = env.client.get(f"{URL}/{image_id}", headers=env.auth()).json()
    return found


def _rows(env: Any) -> dict[str, LabelAssist]:
    with env.store.db.reading() as session:
        return {row.image_id: row for row in session.scalars(select(LabelAssist))}


def test_a_bare_upload_is_pre_labelled_and_one_with_predictions_is_not(
    env: Any, tmp_path: Path, nanodet_path: Path, samples: Path
) -> None:
    _nanodet(env, nanodet_path)
    bare = _upload(env, (samples / "bus.jpg").read_bytes(), "bus.jpg")
    uploaded = {
        "predictions": [{"x": 30, "y": 30, "width": 20, "height": 20, "confidence": 0.5, "class": "cat"}]
    }
    carried = _upload(
        env,
        (samples / "dog.jpg").read_bytes(),
        "dog.jpg",
        predictions=json.dumps(uploaded),
        model_version="7",
    )
    assistant = _assistant(env, tmp_path)
    assert assistant.run_once() is True
    assert assistant.run_once() is False  # nothing left to do
    boxes = [a for a in _record(env, bare)["annotations"] if a["kind"] == PREDICTION]
    assert {"bus", "person"} <= {b["class_name"] for b in boxes}, boxes
    assert all(b["model_version"] == "1" and b["created_by"] == LABEL_ASSIST for b in boxes)
    assert all(b["confidence"] >= 0.4 for b in boxes)
    [kept] = _record(env, carried)["annotations"]
    assert (kept["class_name"], kept["model_version"], kept["created_by"]) == ("cat", "7", None)
    rows = _rows(env)
    assert set(rows) == {bare}
    assert (rows[bare].state, rows[bare].boxes, rows[bare].model_version) == ("done", len(boxes), 1)
    with env.store.db.reading() as session:  # the run is recorded, so evaluation and models predict see it
        assert has_version(session, bare, "1") and not has_version(session, carried, "1")
    assert "bus" in env.client.get("/api/v1/projects/acme/open", headers=env.auth()).json()["classes"]

    sign_in(env)
    page = env.client.get(f"/ui/p/open/images/{bare}").text
    assert "pre-labelled by the server with model v1" in page and f"{len(boxes)} boxes" in page
    assert 'id="label-assist"' not in env.client.get(f"/ui/p/open/images/{carried}").text
    shown = env.client.get("/ui/p/open/images?assist=server").text
    assert f'data-image-id="{bare}"' in shown and f'data-image-id="{carried}"' not in shown


def test_a_model_that_fails_to_load_is_reported_once_and_not_retried(
    env: Any,
    tmp_path: Path,
    nanodet_path: Path,
    make_jpeg: Callable[..., bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not an ONNX graph")
    _register(env, broken, 1, "nanodet", ["person"])
    ids = [_upload(env, make_jpeg(seed=i), f"{i}.jpg") for i in range(3)]
    assistant = _assistant(env, tmp_path)
    caplog.set_level(logging.WARNING, logger="framescout.server.label_assist")
    assert assistant.run_once() is True
    assert assistant.run_once() is False and assistant.run_once() is False  # no retry with version 1
    later = _upload(env, make_jpeg(seed=9), "9.jpg")
    assert assistant.run_once() is True
    warnings = [r for r in caplog.records if r.name == "framescout.server.label_assist"]
    assert len(warnings) == 1 and "version 1" in warnings[0].getMessage(), warnings
    rows = _rows(env)
    assert {i: rows[i].state for i in [*ids, later]} == dict.fromkeys([*ids, later], "failed")
    assert all((rows[i].error or "").startswith("model_unusable:") for i in ids)
    first_finished = {i: rows[i].finished_at for i in ids}

    sign_in(env)
    page = env.client.get(f"/ui/p/open/images/{ids[0]}").text
    assert "the server could not pre-label it with model v1" in page and "model_unusable" in page
    assert f'data-image-id="{later}"' in env.client.get("/ui/p/open/images?assist=failed").text

    _nanodet(env, nanodet_path, version=2)  # a new version tries the failed images again
    assert assistant.run_once() is True
    rows = _rows(env)
    assert all(rows[i].state == "done" and rows[i].model_version == 2 for i in [*ids, later])
    assert all(rows[i].finished_at != first_finished[i] for i in ids)


def test_an_expired_claim_is_taken_over_and_a_live_one_is_not(
    env: Any, tmp_path: Path, nanodet_path: Path, samples: Path
) -> None:
    _nanodet(env, nanodet_path)
    dead = _upload(env, (samples / "bus.jpg").read_bytes(), "bus.jpg")
    alive = _upload(env, (samples / "person.jpg").read_bytes(), "person.jpg")
    with env.store.db.writing() as session:
        project = get_project(session, get_workspace(session, "acme"), "open")
        for image_id, age, worker in ((dead, timedelta(hours=1), "killed"), (alive, timedelta(0), "busy")):
            session.add(
                LabelAssist(
                    image_id=image_id,
                    project_id=project.id,
                    model_version=1,
                    state="running",
                    claimed_by=worker,
                    claimed_at=utcnow() - age,
                )
            )
    assistant = _assistant(env, tmp_path, label_assist_lease=60.0)
    assert assistant.run_once() is True
    rows = _rows(env)
    assert (rows[dead].state, rows[dead].claimed_by) == ("done", assistant.worker)
    assert (rows[alive].state, rows[alive].claimed_by) == ("running", "busy")
    with env.store.db.reading() as session:
        count = session.scalar(select(func.count()).where(Annotation.image_id == alive))
    assert count == 0


def test_two_workers_claiming_at_once_never_share_an_image(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    ids = {_upload(env, make_jpeg(seed=100 + i), f"{i}.jpg") for i in range(24)}
    with env.store.db.writing() as session:
        project = get_project(session, get_workspace(session, "acme"), "open")
        register_model(session, project, 1, "0" * 64, "nanodet", ["person"])
    start = threading.Barrier(2)
    won: dict[str, list[str]] = {"a": [], "b": []}

    def worker(name: str) -> None:
        start.wait()
        for _ in range(6):
            got = claim(env.store.db, project, 1, name, limit=8, lease=timedelta(minutes=5))
            won[name] += [c.image_id for c in got]

    threads = [threading.Thread(target=worker, args=(name,)) for name in won]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not set(won["a"]) & set(won["b"])
    assert sorted(won["a"] + won["b"]) == sorted(ids)
    assert {row.claimed_by for row in _rows(env).values()} <= {"a", "b"}


def test_the_current_model_is_the_newest_deployment_to_all_devices_else_the_newest_version(env: Any) -> None:
    with env.store.db.writing() as session:
        project = get_project(session, get_workspace(session, "acme"), "open")
        assert current_model(session, project) is None
        for version in (1, 2, 3):
            register_model(session, project, version, f"{version}" * 64, "nanodet", ["person"])
        deploy(session, project, 2, {"site": "north"}, "test")
        found = current_model(session, project)
        assert found is not None and found.version == 3  # a labelled deployment reaches only some devices
        deploy(session, project, 1, {}, "test")
        deploy(session, project, 3, {"site": "south"}, "test")
        found = current_model(session, project)
        assert found is not None and found.version == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [("FRAMESCOUT_LABEL_ASSIST", "maybe"), ("FRAMESCOUT_LABEL_ASSIST_LEASE", "soon")],
)
def test_a_bad_label_assist_setting_stops_serve_with_one_line(tmp_path: Path, name: str, value: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "framescout", "serve", "--data-dir", str(tmp_path / "d"), "--port", "1"],
        env={**os.environ, name: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert (
        done.stderr.strip().startswith("error:")
        and name in done.stderr
        and len(done.stderr.splitlines()) == 1
    )


def test_a_bug_reports_image_is_pre_labelled(
    env: Any, tmp_path: Path, nanodet_path: Path, samples: Path
) -> None:
    _nanodet(env, nanodet_path)
    bug = env.client.post(
        "/api/v1/projects/acme/open/bug-reports",
        headers=env.auth(),
        files={"file": ("person.jpg", (samples / "person.jpg").read_bytes(), "image/jpeg")},
        data={"description": "nothing detected on the street", "severity": "no_detections"},
    )
    assert bug.status_code == 201, bug.text
    image_id = bug.json()["image_id"]
    assert _assistant(env, tmp_path).run_once() is True
    record = _record(env, image_id)
    assert record["source"] == "bug-report"
    boxes = [a for a in record["annotations"] if a["kind"] == PREDICTION]
    assert boxes and all(b["created_by"] == LABEL_ASSIST and b["model_version"] == "1" for b in boxes)


def test_stopping_the_worker_leaves_no_claim_behind(
    env: Any, tmp_path: Path, nanodet_path: Path, coco_tiny: Path
) -> None:
    _nanodet(env, nanodet_path)
    for path in sorted((coco_tiny / "val2017").glob("*.jpg"))[:8]:
        _upload(env, path.read_bytes(), path.name)
    assistant = _assistant(env, tmp_path, label_assist_interval=0.1)
    assistant.start()
    deadline = time.monotonic() + 60
    while not any(r.state == "done" for r in _rows(env).values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assistant.stop()
    states = [r.state for r in _rows(env).values()]
    assert "done" in states and "running" not in states  # finished, or given back for another worker
