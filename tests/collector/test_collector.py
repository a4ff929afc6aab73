"""The collector with real server processes: outages, restarts, refusals, and SIGKILL mid-run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from framescout import Predictions
from framescout.client import Client
from framescout.collector import Collector, Spool
from framescout.sampling import ConfidenceBelow, RandomSample, Sampler
from framescout.server.process import ServerProcess, free_port


def frame(i: int, width: int = 320, height: int = 240) -> np.ndarray:
    """A distinct image per ``i`` (so content hashes differ)."""
    rng = np.random.default_rng(i)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


LOW = Predictions.from_arrays(
    [[10, 20, 110, 220]], [0.2], [0], class_name=["person"], image_width=320, image_height=240
)
SURE = Predictions.from_arrays([[10, 20, 110, 220]], [0.9], [0], class_name=["person"])


def keep_low() -> Sampler:
    return Sampler([ConfidenceBelow(0.4, name="low", tags=["low-confidence"])])


@pytest.fixture
def server(tmp_path: Path) -> ServerProcess:
    proc = ServerProcess(tmp_path / "server-data")
    proc.__dict__["key"] = proc.create_key("acme")
    proc.cli("projects", "create", "acme/cams")
    return proc


def names_on(server: ServerProcess) -> Counter[str]:
    with Client(server.url, server.__dict__["key"]) as client:
        return Counter(image["name"] for image in client.iter_images("acme/cams"))


def test_offline_frames_wait_in_the_spool_with_scaled_pre_labels(tmp_path: Path) -> None:
    with Collector(rules=keep_low(), spool_dir=tmp_path / "spool", max_side=160) as collector:
        decisions = [collector.observe(frame(i), LOW if i % 2 else SURE, name=f"f{i}") for i in range(6)]
        collector.flush()
        status = collector.status()
    assert [d.keep for d in decisions] == [False, True] * 3
    assert status["seen"] == 6 and status["rules"]["low"]["queued"] == 3 and status["spool"]["entries"] == 3
    entry = Spool(tmp_path / "spool").due()[0]
    assert (entry.meta["width"], entry.meta["height"]) == (160, 120)
    box = entry.meta["predictions"]["predictions"][0]
    assert (box["x"], box["y"], box["width"], box["height"]) == (
        30.0,
        60.0,
        50.0,
        100.0,
    )  # halved with the image
    assert entry.meta["rule"] == "low" and entry.meta["tags"] == ["low-confidence"]


def test_copy_true_lets_the_caller_reuse_its_buffer(tmp_path: Path) -> None:
    import cv2

    buffer = np.full((240, 320, 3), 200, np.uint8)
    with Collector(rules=keep_low(), spool_dir=tmp_path / "spool") as collector:
        collector.observe(buffer, LOW, copy=True)
        buffer[:] = 0  # the inference loop reuses its frame buffer at once
        collector.flush()
        entry = collector.spool.due()[0]
        pixels = cv2.imdecode(np.frombuffer(collector.spool.read(entry), np.uint8), cv2.IMREAD_COLOR)
    assert pixels is not None
    assert abs(float(pixels.mean()) - 200) < 3


def test_server_down_for_the_whole_run_then_started(server: ServerProcess, tmp_path: Path) -> None:
    collector = Collector(
        server=server.url,
        api_key=server.__dict__["key"],
        project="acme/cams",
        rules=keep_low(),
        spool_dir=tmp_path / "spool",
    )
    collector.uploader.base_delay = 0.05  # type: ignore[union-attr]
    collector.uploader.max_delay = 0.5  # type: ignore[union-attr]
    for i in range(12):
        collector.observe(frame(i), LOW, name=f"f{i}")
    collector.encoder.join()
    time.sleep(0.5)
    assert collector.status()["spool"]["entries"] == 12
    assert collector.status()["rules"]["low"]["retried"] >= 1
    with server:
        assert collector.flush(timeout=30)
        status = collector.status()
        collector.close()
        assert names_on(server) == Counter({f"f{i}": 1 for i in range(12)})
        with Client(server.url, server.__dict__["key"]) as client:
            kinds = {image["metadata"].get("rule_kind") for image in client.iter_images("acme/cams")}
        assert kinds == {"confidence_below"}  # the dashboard's per-model-version confidence share reads it
    assert status["rules"]["low"]["uploaded"] == 12 and status["spool"]["entries"] == 0


def test_each_frame_carries_its_device_the_hostname_unless_named(
    server: ServerProcess, tmp_path: Path
) -> None:
    """The upload's ``device_id`` comes from the collector: ``device_id=`` (``collect --device-id``),
    else this machine's hostname; the server stores it and filters by it."""
    with server:
        for device, first in ((None, 0), ("cam-3", 3)):
            with Collector(
                server=server.url,
                api_key=server.__dict__["key"],
                project="acme/cams",
                rules=keep_low(),
                spool_dir=tmp_path / f"spool-{device}",
                device_id=device,
            ) as collector:
                for i in range(first, first + 3):
                    collector.observe(frame(i), LOW, name=f"f{i}")
                assert collector.flush(timeout=30)
        with Client(server.url, server.__dict__["key"]) as client:
            devices = {image["name"]: image["device_id"] for image in client.iter_images("acme/cams")}
            named = client.list_images("acme/cams", device_id="cam-3")["images"]
    host = socket.gethostname()
    assert devices == {"f0": host, "f1": host, "f2": host, "f3": "cam-3", "f4": "cam-3", "f5": "cam-3"}
    assert sorted(image["name"] for image in named) == ["f3", "f4", "f5"]


def test_server_restarted_mid_run(server: ServerProcess, tmp_path: Path) -> None:
    with server:
        collector = Collector(
            server=server.url,
            api_key=server.__dict__["key"],
            project="acme/cams",
            rules=keep_low(),
            spool_dir=tmp_path / "spool",
        )
        collector.uploader.base_delay, collector.uploader.max_delay = 0.05, 0.5  # type: ignore[union-attr]
        for i in range(8):
            collector.observe(frame(i), LOW, name=f"f{i}")
        assert collector.flush(timeout=30)
    for i in range(8, 16):  # the server is down now
        collector.observe(frame(i), LOW, name=f"f{i}")
    collector.encoder.join()
    with server:
        assert collector.flush(timeout=30)
        collector.close()
        assert names_on(server) == Counter({f"f{i}": 1 for i in range(16)})


def test_a_wrong_key_pauses_the_uploader_and_keeps_every_frame(server: ServerProcess, tmp_path: Path) -> None:
    with server:
        collector = Collector(
            server=server.url,
            api_key="not-a-key",
            project="acme/cams",
            rules=keep_low(),
            spool_dir=tmp_path / "spool",
        )
        uploader = collector.uploader
        assert uploader is not None
        uploader.pause_base, uploader.pause_max = 0.05, 0.2
        for i in range(3):
            collector.observe(frame(i), LOW, name=f"f{i}")
        assert not collector.flush(timeout=2)
        status = collector.status()
        collector.close(timeout=0)
        assert status["uploader"]["state"] == "paused"
        assert status["uploader"]["paused_reason"]["status"] == 401
        assert status["uploader"]["paused_reason"]["code"] == "invalid_api_key"
        assert status["spool"]["entries"] == 3 and not status["rules"]["low"]["dropped"]
        assert status["rules"]["low"]["retried"] == 0  # a pause is not a per-frame retry
        with Collector(  # the key fixed: the next run delivers what the paused one kept
            server=server.url,
            api_key=server.__dict__["key"],
            project="acme/cams",
            rules=keep_low(),
            spool_dir=tmp_path / "spool",
        ) as fixed:
            assert fixed.flush(timeout=20)
        assert names_on(server) == Counter({"f0": 1, "f1": 1, "f2": 1})


def test_an_unknown_project_pauses_until_it_is_created(server: ServerProcess, tmp_path: Path) -> None:
    with server:
        collector = Collector(
            server=server.url,
            api_key=server.__dict__["key"],
            project="acme/later",
            rules=keep_low(),
            spool_dir=tmp_path / "spool",
        )
        uploader = collector.uploader
        assert uploader is not None
        uploader.pause_base, uploader.pause_max = 0.1, 0.5
        for i in range(4):
            collector.observe(frame(i), LOW, name=f"f{i}")
        collector.encoder.join()
        deadline = time.monotonic() + 20
        while collector.status()["uploader"]["state"] != "paused" and time.monotonic() < deadline:
            time.sleep(0.05)
        reason = collector.status()["uploader"]["paused_reason"]
        assert reason["status"] == 404 and reason["code"] == "project_not_found"
        server.cli("projects", "create", "acme/later")
        assert collector.flush(timeout=30)  # resumed by itself
        status = collector.status()
        collector.close()
        with Client(server.url, server.__dict__["key"]) as client:
            names = Counter(image["name"] for image in client.iter_images("acme/later"))
    assert names == Counter({f"f{i}": 1 for i in range(4)})
    assert status["uploader"]["state"] != "paused" and status["uploader"]["paused_reason"] is None
    assert status["rules"]["low"]["uploaded"] == 4


def test_frames_a_real_server_refuses_are_quarantined_not_dropped(
    server: ServerProcess, tmp_path: Path
) -> None:
    """The usual real cause: a project created with a class list the model's classes are not in."""
    server.cli("projects", "create", "acme/strict", "--classes", "car")
    car = Predictions.from_arrays(
        [[10, 20, 110, 220]], [0.2], [0], class_name=["car"], image_width=320, image_height=240
    )
    with server:
        collector = Collector(
            server=server.url,
            api_key=server.__dict__["key"],
            project="acme/strict",
            rules=keep_low(),
            spool_dir=tmp_path / "spool",
        )
        for i in range(4):
            collector.observe(frame(i), LOW if i % 2 else car, name=f"f{i}")  # f1, f3: "person"
        assert collector.flush(timeout=30)
        status = collector.status()
        collector.close()
        with Client(server.url, server.__dict__["key"]) as client:
            names = sorted(image["name"] for image in client.iter_images("acme/strict"))
    assert names == ["f0", "f2"]
    assert status["rules"]["low"]["uploaded"] == 2 and status["rules"]["low"]["quarantined"] == 2
    assert not status["rules"]["low"]["dropped"] and status["spool"]["quarantined"] == 2
    held = Spool(tmp_path / "spool").quarantined()
    assert sorted(q.meta["name"] for q in held) == ["f1", "f3"]
    assert {(q.status, q.code) for q in held} == {(422, "unknown_class")}
    assert all("person" in q.message for q in held)


def test_spool_cap_evicts_random_frames_first(tmp_path: Path) -> None:
    sampler = Sampler([ConfidenceBelow(0.4, name="low"), RandomSample(1.0, name="random")])
    sample = Collector(rules=sampler, spool_dir=tmp_path / "probe")
    sample.observe(frame(0), LOW)
    sample.flush()
    size = sample.spool.stats()["bytes"]
    sample.close()
    cap = int(size * 4.5)
    with Collector(rules=sampler, spool_dir=tmp_path / "spool", spool_cap_bytes=cap) as collector:
        for i in range(4):
            collector.observe(frame(100 + i), SURE)  # kept by "random"
        for i in range(3):
            collector.observe(frame(200 + i), LOW)  # kept by "low"
        collector.flush()
        status = collector.status()
    assert status["rules"]["random"]["dropped"].get("evicted_spool_cap", 0) >= 2
    assert "dropped" not in status["rules"]["low"] or not status["rules"]["low"]["dropped"]
    rules = Counter(entry.rule for entry in Spool(tmp_path / "spool").due(limit=100))
    assert rules["low"] == 3


def test_a_full_disk_is_a_counted_drop_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    real_fsync = os.fsync  # the spool writes through os.fsync: patching os patches it

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with Collector(rules=keep_low(), spool_dir=tmp_path / "spool") as collector:
        monkeypatch.setattr(os, "fsync", disk_full)
        for i in range(3):
            collector.observe(frame(i), LOW)
        collector.flush()
        monkeypatch.setattr(os, "fsync", real_fsync)  # space freed: the loop goes on
        collector.observe(frame(9), LOW)
        collector.flush()
        status = collector.status()
    assert status["rules"]["low"]["dropped"] == {"disk_full": 3}
    assert status["rules"]["low"]["queued"] == 1
    frames = sorted(p.name for p in (tmp_path / "spool" / "frames").iterdir())
    assert len(frames) == 1 and frames[0].endswith(".jpg")  # no temp file left behind


CHILD = textwrap.dedent(
    """
    import sys, time, numpy as np
    from framescout import Predictions
    from framescout.collector import Collector
    from framescout.sampling import ConfidenceBelow, Sampler
    url, key, spool, start, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    low = Predictions.from_arrays([[10, 20, 110, 220]], [0.2], [0], class_name=["person"])
    collector = Collector(server=url, api_key=key, project="acme/cams", spool_dir=spool,
                          rules=Sampler([ConfidenceBelow(0.4, name="low")]))
    collector.uploader.base_delay, collector.uploader.max_delay = 0.05, 0.3
    for i in range(start, start + count):
        image = np.random.default_rng(i).integers(0, 256, (240, 320, 3), dtype=np.uint8)
        collector.observe(image, low, name=f"f{i}")
        collector.encoder.join()
        print(f"SPOOLED {i}", flush=True)
        time.sleep(0.02)
    collector.flush(timeout=60)
    print("DONE", flush=True)
    """
)


def test_sigkill_mid_run_loses_and_duplicates_nothing(server: ServerProcess, tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    spool = tmp_path / "spool"
    key = server.__dict__["key"]
    with server:
        child = subprocess.Popen(
            [sys.executable, str(script), server.url, key, str(spool), "0", "400"],
            stdout=subprocess.PIPE,
            text=True,
        )
        spooled = []
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("SPOOLED"):
                spooled.append(int(line.split()[1]))
            if len(spooled) == 40:
                os.kill(child.pid, signal.SIGKILL)  # mid-run: frames spooled, some uploaded, some in flight
                break
        child.wait(timeout=30)
        before = names_on(server)
        assert 0 < sum(before.values()) <= len(spooled) + 1
        restart = subprocess.run(
            [sys.executable, str(script), server.url, key, str(spool), "1000", "0"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert "DONE" in restart.stdout
        after = names_on(server)
    for i in spooled:
        assert after[f"f{i}"] == 1, f"frame {i} was spooled before the kill but is missing or duplicated"
    assert all(count == 1 for count in after.values())
    assert set(after) <= {f"f{i}" for i in range(len(spooled) + 2)}
    assert Spool(spool).stats()["entries"] == 0
    assert json.dumps(dict(after))  # every record is a decodable, named image (listing succeeded)


def test_bad_configuration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs api_key and project"):
        Collector(server=f"http://127.0.0.1:{free_port()}", rules=keep_low(), spool_dir=tmp_path / "s")
    with pytest.raises(ValueError, match="must be 'workspace/project'"):
        Collector(server="http://x", api_key="k", project="cams", rules=keep_low(), spool_dir=tmp_path / "s")
