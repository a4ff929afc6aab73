"""A registered model that turns out broken (registered before the check existed, or its file swapped)
answers a clear 503 ``model_unusable`` on hosted inference — never a 500 — and the check runs once."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from framescout.imaging import sha256_hex
from framescout.store.accounts import get_project, get_workspace, register_model

pytest.importorskip("onnx", reason="onnx (dev extra) builds the test graphs")
from onnx_graphs import CELLS, constant_model, yolov8


def _register(env: Any, model: Path, version: int, names: list[str], fmt: str | None) -> None:
    """Register without `framescout models add` (which would refuse the model)."""
    digest = sha256_hex(model.read_bytes())
    shutil.copyfile(model, env.store.models_dir / f"{digest}.onnx")
    with env.store.db.writing() as session:
        project = get_project(session, get_workspace(session, "acme"), "cams")
        register_model(session, project, version, digest, fmt, names)


def _infer(env: Any, version: int, image: bytes) -> Any:
    return env.client.post(
        f"/cams/{version}", headers=env.auth(), content=base64.b64encode(image), params={"confidence": 1}
    )


@pytest.mark.parametrize(
    ("output", "fmt", "names", "expected"),
    [
        (np.zeros((1, CELLS, 2), np.float32), "nanodet", ["a", "b"], "cannot be decoded as nanodet"),
        (yolov8(classes=2), "yolov8", ["a", "b", "c"], "predicts 2 classes but 3 class names"),
    ],
    ids=["decoder IndexError", "class count mismatch"],
)
def test_broken_registered_model_answers_503(
    env: Any, tmp_path: Path, make_jpeg: Any, output: np.ndarray, fmt: str, names: list[str], expected: str
) -> None:
    _register(env, constant_model(tmp_path / "bad.onnx", output), 7, names, fmt)
    for _ in range(2):  # the verdict is remembered: the second call answers the same, without reloading
        response = _infer(env, 7, make_jpeg())
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "model_unusable" and expected in error["message"]
        assert str(tmp_path) not in error["message"]  # no server paths in the answer


def test_a_working_registered_model_still_serves(env: Any, tmp_path: Path, make_jpeg: Any) -> None:
    _register(env, constant_model(tmp_path / "good.onnx", yolov8()), 3, ["person", "car"], None)
    response = _infer(env, 3, make_jpeg(64, 64))
    assert response.status_code == 200, response.text
    assert response.json()["image"] == {"width": 64, "height": 64}
