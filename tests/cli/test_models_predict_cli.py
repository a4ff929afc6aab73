"""``framescout models predict``: the real NanoDet-m over real coco-tiny frames in a real CLI process,
killed mid-run and resumed, on both stores."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backends import Backend
from framescout.imaging import decode_image
from framescout.models import OnnxDetector, load_class_names
from framescout.predictions import Predictions
from framescout.predictions.box import Box
from framescout.store import Store
from framescout.store.accounts import create_project, get_or_create_workspace
from framescout.store.ingest import ImageFields, ingest_image
from framescout.store.models import GROUND_TRUTH, PREDICTION, Annotation, Image, PredictionRun, Project
from framescout.store.provenance import MODELS_PREDICT
from framescout.store.review import save_review
from helpers import framescout

pytestmark = pytest.mark.both_backends

REVIEWED = 10
"""Of the frames stored, these many are reviewed (with their COCO boxes as ground truth)."""


def _fill(store: Store, coco_tiny: Path) -> list[str]:
    """Every coco-tiny frame, with one version-1 prediction each; the first `REVIEWED` reviewed."""
    with store.db.writing() as session:
        project = create_project(session, get_or_create_workspace(session, "acme"), "coco")
    ids = []
    for split in ("val2017", "train2017"):
        for path in sorted((coco_tiny / split).glob("*.jpg")):
            fields = ImageFields(
                name=path.name,
                model_version="1",
                predictions=_one_box(),
            )
            ids.append(ingest_image(store.db, store.blobs, project, path.read_bytes(), fields).id)
    truth = [Box("person", 1, 1, 20, 20)]
    for image_id in ids[:REVIEWED]:
        save_review(store.db, project, image_id, truth, reviewer="test")
    return ids


def _one_box() -> Predictions:
    return Predictions.from_arrays([[2, 2, 12, 12]], [0.5], [0], ["kite"])


def _runs(store: Store, version: str = "2") -> dict[str, int]:
    with store.db.reading() as session:
        rows = session.execute(
            select(PredictionRun.image_id, PredictionRun.boxes).where(PredictionRun.model_version == version)
        )
        return {row.image_id: row.boxes for row in rows}


def _boxes(store: Store, version: str) -> dict[str, list[tuple[int, str, str | None]]]:
    """Each image's stored predictions of ``version``: (row id, class, created_by)."""
    with store.db.reading() as session:
        rows = session.scalars(
            select(Annotation).where(Annotation.kind == PREDICTION, Annotation.model_version == version)
        )
        out: dict[str, list[tuple[int, str, str | None]]] = {}
        for a in rows:
            out.setdefault(a.image_id, []).append((a.id, a.class_name, a.created_by))
        return out


@pytest.fixture
def filled(
    tmp_path: Path, backend: Backend, coco_tiny: Path, nanodet_path: Path
) -> tuple[Path, Store, list[str]]:
    data = tmp_path / "data"
    store = backend.open(data)
    ids = _fill(store, coco_tiny)
    names = str(nanodet_path.with_name("coco.names"))
    for version in ("2", "3"):
        added = framescout(
            "models", "add", "acme/coco", version, "--onnx", str(nanodet_path), "--classes", names,
            "--data-dir", str(data), env=backend.env,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
    return data, store, ids


def test_a_killed_run_resumes_where_it_stopped(
    filled: tuple[Path, Store, list[str]], backend: Backend, nanodet_path: Path
) -> None:
    data, store, ids = filled
    command = [sys.executable, "-m", "framescout", "models", "predict", "acme/coco", "2",
               "--batch-size", "4", "--data-dir", str(data)]  # fmt: skip
    proc = subprocess.Popen(
        command, env={**os.environ, **backend.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while len(_runs(store)) < 12 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.communicate()}"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    before = _runs(store)
    assert 12 <= len(before) < len(ids)
    assert set(ids[:REVIEWED]) <= set(before)  # the reviewed frames went first
    kept = _boxes(store, "2")

    resumed = framescout("models", "predict", "acme/coco", "2", "--data-dir", str(data), env=backend.env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(ids) - len(before)} image(s) to predict (0 reviewed, first)" in resumed.stdout
    runs = _runs(store)
    assert set(runs) == set(ids)
    stored = _boxes(store, "2")
    assert {i: stored[i] for i in kept} == kept  # not predicted twice, not rewritten
    assert all(len(stored.get(i, [])) == n for i, n in runs.items())
    assert sum(runs.values()) > len(ids)  # NanoDet finds things in COCO frames
    assert {by for boxes in stored.values() for _, _, by in boxes} == {MODELS_PREDICT}
    assert f"stored {sum(runs.values()) - sum(before.values())} prediction(s)" in resumed.stdout

    again = framescout("models", "predict", "acme/coco", "2", "--data-dir", str(data), env=backend.env)
    assert again.returncode == 0 and "0 image(s) to predict" in again.stdout
    assert _runs(store) == runs

    # The same boxes as the model gives directly; version 1 and the ground truth untouched.
    detector = OnnxDetector(nanodet_path, class_names=load_class_names(nanodet_path.with_name("coco.names")))
    with store.db.reading() as session:
        sample = session.scalars(select(Image).where(Image.id.in_(ids[::20]))).all()
        for image in sample:
            found = detector.predict(decode_image(store.blobs.get(image.sha256)), confidence=0.25, iou=0.6)
            assert sorted(c for _, c, _ in stored.get(image.id, [])) == sorted(found.class_name)
        one = session.scalar(
            select(func.count()).where(Annotation.kind == PREDICTION, Annotation.model_version == "1")
        )
        truth = session.scalar(select(func.count()).where(Annotation.kind == GROUND_TRUTH))
    assert (one, truth) == (len(ids), REVIEWED)
    store.close()


def test_only_reviewed_and_limit_and_refusals(
    filled: tuple[Path, Store, list[str]], backend: Backend
) -> None:
    data, store, ids = filled
    some = framescout(
        "models", "predict", "acme/coco", "3", "--only-reviewed", "--limit", "3", "--data-dir", str(data),
        env=backend.env,
    )  # fmt: skip
    assert some.returncode == 0, some.stderr
    assert "3 image(s) to predict (10 reviewed, first)" in some.stdout
    assert len(_runs(store, "3")) == 3 and set(_runs(store, "3")) <= set(ids[:REVIEWED])
    rest = framescout(
        "models", "predict", "acme/coco", "3", "--only-reviewed", "--data-dir", str(data), env=backend.env
    )
    assert rest.returncode == 0 and set(_runs(store, "3")) == set(ids[:REVIEWED])

    for args, message in (
        (("acme/coco", "9"), "error: project 'coco' has no model version 9"),
        (("acme/nope", "2"), "error: "),
    ):
        refused = framescout("models", "predict", *args, "--data-dir", str(data), env=backend.env)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and errors[0].startswith(message), refused.stderr
    with store.db.reading() as session:
        classes = session.scalar(select(Project.classes))
    assert classes is not None and len(classes) > 2  # the open project learned the model's classes
    store.close()
