"""`RemoteDetector` against a real `framescout serve` process hosting NanoDet-m."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from framescout.models import ModelError, OnnxDetector, RemoteDetector, load_class_names
from framescout.server.process import ServerProcess


@pytest.fixture(scope="module")
def hosted(
    nanodet_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, str]]:
    server = ServerProcess(tmp_path_factory.mktemp("remote") / "data")
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/street")
    server.cli(
        "models",
        "add",
        "acme/street",
        "1",
        "--onnx",
        str(nanodet_path),
        "--format",
        "nanodet",
        "--classes",
        str(nanodet_path.parent / "coco.names"),
    )
    with server:
        yield server, key


def test_remote_predictions_match_the_local_runner(
    hosted: tuple[ServerProcess, str], nanodet_path: Path
) -> None:
    server, key = hosted
    photo = nanodet_path.parents[2] / "data" / "samples" / "bus.jpg"
    local = OnnxDetector(nanodet_path, class_names=load_class_names(nanodet_path.parent / "coco.names"))
    with RemoteDetector(server.url, key, "street", 1, quality=100) as remote:
        there = remote.predict(photo, confidence=0.4)
    here = local.predict(photo, confidence=0.4)
    assert there.class_name and sorted(there.class_name) == sorted(here.class_name)
    assert (there.image_width, there.image_height) == (here.image_width, here.image_height)
    # the remote side sees a re-encoded JPEG, so boxes agree to a few pixels, not exactly
    order_here, order_there = np.argsort(here.xyxy[:, 0]), np.argsort(there.xyxy[:, 0])
    np.testing.assert_allclose(there.xyxy[order_there], here.xyxy[order_here], atol=6)


def test_remote_errors_are_clear(hosted: tuple[ServerProcess, str], nanodet_path: Path) -> None:
    server, key = hosted
    photo = np.zeros((32, 32, 3), dtype=np.uint8)
    with pytest.raises(ModelError, match="refused the API key"):
        RemoteDetector(server.url, "wrong-key", "street", 1).predict(photo)
    with pytest.raises(ModelError, match=r"does not exist|answered 404"):
        RemoteDetector(server.url, key, "street", 9).predict(photo)
    with pytest.raises(ModelError, match="cannot reach"):
        RemoteDetector("http://127.0.0.1:9", key, "street", 1, timeout=2).predict(photo)
