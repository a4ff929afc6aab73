"""`ModelSync` against a real server process with NanoDet-m registered as several versions: it follows
the deployment (by label), verifies every download (a corrupt one is refused and the running model
keeps running), resumes a partial download with Range, and boots offline from its cache."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fleet_models import Fleet, sha256_of, start_fleet
from framescout.collector.model_cache import CURRENT
from framescout.collector.model_sync import ModelSync, ModelSyncError
from framescout.server.process import free_port

pytestmark = pytest.mark.slow
pytest.importorskip("onnx", reason="the onnx package (a dev dependency) makes the version-2 file")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, nanodet_path: Path) -> Iterator[Fleet]:
    fleet = start_fleet(tmp_path_factory.mktemp("model-sync"), nanodet_path, versions=4)
    try:
        yield fleet
    finally:
        fleet.server.stop()


def _sync(fleet: Fleet, cache: Path, **labels: str) -> ModelSync:
    return ModelSync(fleet.server.url, fleet.key, fleet.project, cache, labels=labels, interval=3600)


def test_it_follows_the_deployment_and_refuses_a_corrupt_download(fleet: Fleet, tmp_path: Path) -> None:
    fleet.deploy(1)
    sync = _sync(fleet, tmp_path / "cache")
    try:
        running = sync.start()
        assert (running.version, running.sha256, sync.booted_from) == (
            "1",
            sha256_of(fleet.files[1]),
            "server",
        )
        assert sync.status()["last_download"] == {
            "version": 1,
            "status": 200,
            "resumed_from": 0,
            "received": fleet.files[1].stat().st_size,
        }
        image = np.full((240, 320, 3), 90, dtype=np.uint8)
        before = running.detector.predict(image, confidence=0.0)
        assert not sync.check_now()  # nothing changed

        fleet.deploy(2)
        assert sync.check_now()
        after = sync.current()
        assert after.version == "2" and after.sha256 == sha256_of(fleet.files[2])
        assert after.detector is not running.detector
        np.testing.assert_allclose(
            after.detector.predict(image, confidence=0.0).confidence, before.confidence
        )

        fleet.corrupt(3)
        fleet.deploy(3)
        assert not sync.check_now()
        status = sync.status()
        assert sync.current().version == "2" and status["refused"] == 1
        assert "version 3 refused" in status["last_error"] and "SHA-256" in status["last_error"]
        cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
        assert f"{sha256_of(fleet.files[3])}.onnx" not in cached and not any(
            n.endswith(".part") for n in cached
        )
        assert json.loads((tmp_path / "cache" / CURRENT).read_text())["version"] == 2

        fleet.deploy(1)  # rollback: the previous version's file is still cached, nothing to download
        assert sync.check_now() and sync.current().version == "1" and sync.status()["switches"] == 2
    finally:
        sync.close()


def test_a_partial_download_resumes_with_range(fleet: Fleet, tmp_path: Path) -> None:
    fleet.deploy(4)
    data = fleet.files[4].read_bytes()
    cache = tmp_path / "cache"
    cache.mkdir()
    part = cache / f"{sha256_of(fleet.files[4])}.onnx.part"
    part.write_bytes(data[:1_000_000])  # what an interrupted download left
    sync = _sync(fleet, cache)
    try:
        assert sync.start().version == "4"
        download = sync.status()["last_download"]
        assert download == {
            "version": 4,
            "status": 206,
            "resumed_from": 1_000_000,
            "received": len(data) - 1_000_000,
        }
        assert (cache / f"{sha256_of(fleet.files[4])}.onnx").read_bytes() == data and not part.exists()
    finally:
        sync.close()

    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / part.name).write_bytes(b"\0" * 500_000)  # a part that is not a prefix of the file
    again = _sync(fleet, stale)
    try:
        assert again.start().version == "4"
        assert again.status()["last_download"]["status"] == 200  # refused once, then fetched whole
    finally:
        again.close()


def test_labels_choose_the_deployment(fleet: Fleet, tmp_path: Path) -> None:
    fleet.deploy(1)
    fleet.deploy(2, "site=north")
    north, south = (
        _sync(fleet, tmp_path / "n", site="north", cam="7"),
        _sync(fleet, tmp_path / "s", site="south"),
    )
    try:
        assert north.start().version == "2" and south.start().version == "1"
    finally:
        north.close()
        south.close()


def test_offline_boot_uses_the_last_model_that_loaded(fleet: Fleet, tmp_path: Path) -> None:
    fleet.deploy(2)
    cache = tmp_path / "cache"
    online = _sync(fleet, cache)
    assert online.start().version == "2"
    online.close()
    down = f"http://127.0.0.1:{free_port()}"
    offline = ModelSync(down, fleet.key, fleet.project, cache, interval=3600)
    try:
        running = offline.start()
        assert (running.version, offline.booted_from) == ("2", "cache")
        assert "unreachable" in (offline.status()["last_error"] or "")
    finally:
        offline.close()
    with pytest.raises(ModelSyncError, match="no model to run: the server is unreachable"):
        ModelSync(down, fleet.key, fleet.project, tmp_path / "empty", interval=3600).start()
    other = ModelSync(down, fleet.key, "acme/elsewhere", cache, interval=3600)  # not this project's model
    with pytest.raises(ModelSyncError):
        other.start()
