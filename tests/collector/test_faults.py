"""A stand-in server that answers 5xx, 429, 401, 404, 413, 422, a captive portal's HTML, a redirect,
or nothing at all for a while, or answers slowly: the collector waits, retries, pauses or quarantines,
and in the end every frame arrives exactly once or is quarantined with the server's reason."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from framescout import Predictions
from framescout.collector import Collector, FolderTransport, Spool
from framescout.collector.record import FrameRecord
from framescout.sampling import ConfidenceBelow, Sampler
from stand_in_server import Fault, FlakyServer


@pytest.fixture
def flaky() -> Iterator[FlakyServer]:
    server = FlakyServer([500, 503, 429, 503, 500, 429])
    yield server
    server.close()


LOW = Predictions.from_arrays([[0, 0, 10, 10]], [0.1], [0], class_name=["x"])


def start(server: FlakyServer, spool: Path, **options: Any) -> Collector:
    collector = Collector(
        server=server.url,
        api_key="k",
        project="acme/cams",
        spool_dir=spool,
        rules=Sampler([ConfidenceBelow(0.4, name="low")]),
        heartbeat_interval=None,  # the injected faults are for uploads; a heartbeat would take one
        **options,
    )
    uploader = collector.uploader
    assert uploader is not None
    uploader.base_delay, uploader.max_delay = 0.02, 0.2
    uploader.pause_base, uploader.pause_max = 0.02, 0.2
    return collector


def run(server: FlakyServer, spool: Path, frames: int, **options: Any) -> dict[str, Any]:
    collector = start(server, spool, **options)
    for i in range(frames):
        collector.observe(np.random.default_rng(i).integers(0, 256, (60, 80, 3), dtype=np.uint8), LOW)
    assert collector.flush(timeout=60)
    status = collector.status()
    collector.close()
    return status


def test_5xx_and_429_are_retried_until_everything_arrives_once(flaky: FlakyServer, tmp_path: Path) -> None:
    status = run(flaky, tmp_path / "spool", 10)
    assert len(flaky.stored) == 10 and set(flaky.stored.values()) == {1}
    rules = status["rules"]
    assert rules["low"]["uploaded"] == 10 and rules["low"]["retried"] == 6 and not rules["low"]["dropped"]


def test_a_slow_server_only_slows_delivery(tmp_path: Path) -> None:
    slow = FlakyServer([], delay=0.2)
    try:
        status = run(slow, tmp_path / "spool", 5)
        assert len(slow.stored) == 5 and slow.requests == 5  # each answered late, none given up on
        assert status["rules"]["low"]["uploaded"] == 5
    finally:
        slow.close()


@pytest.mark.parametrize(
    "faults",
    [
        ["html", "html", "html"],
        ["redirect", "redirect"],
        ["wrong-json"],
        ["drop", "drop"],
        [501, 507, 502, 408],
    ],
    ids=["captive-portal-html", "301", "wrong-json", "dropped-connection", "501-507-502-408"],
)
def test_answers_that_are_not_uploads_are_retried_not_fatal(faults: list[Fault], tmp_path: Path) -> None:
    """The uploader thread used to die on the first HTML page (JSONDecodeError); now each is a retry."""
    server = FlakyServer(faults)
    try:
        status = run(server, tmp_path / "spool", 6)
    finally:
        server.close()
    assert len(server.stored) == 6 and set(server.stored.values()) == {1}
    counts = status["rules"]["low"]
    assert counts["uploaded"] == 6 and counts["retried"] == len(faults)
    assert not counts["dropped"] and counts["quarantined"] == 0
    assert status["uploader"]["errors"] == 0


@pytest.mark.parametrize("fault", [401, 403, 404, 405])
def test_configuration_errors_pause_then_resume(fault: int, tmp_path: Path) -> None:
    server = FlakyServer([fault] * 4)
    try:
        collector = start(server, tmp_path / "spool")
        for i in range(5):
            collector.observe(np.random.default_rng(i).integers(0, 256, (60, 80, 3), dtype=np.uint8), LOW)
        deadline = time.monotonic() + 10
        paused = None
        while time.monotonic() < deadline and paused is None:
            paused = collector.status()["uploader"]["paused_reason"]
            time.sleep(0.005)
        assert paused == {"status": fault, "code": f"e{fault}", "message": f"injected {fault}"}
        assert collector.status()["uploader"]["state"] == "paused"
        assert collector.flush(timeout=30)  # the server accepts again: resumed by itself
        status = collector.status()
        collector.close()
    finally:
        server.close()
    assert len(server.stored) == 5 and set(server.stored.values()) == {1}
    assert server.requests == 5 + 4  # one probe per pause interval, not a hammering loop
    counts = status["rules"]["low"]
    assert counts["uploaded"] == 5 and counts["retried"] == 0 and not counts["dropped"]
    assert status["uploader"]["state"] != "paused" and status["uploader"]["paused_reason"] is None


@pytest.mark.parametrize("fault", [413, 415, 422, 400])
def test_a_refused_frame_is_quarantined_with_the_reason(fault: int, tmp_path: Path) -> None:
    server = FlakyServer([fault, fault])
    try:
        status = run(server, tmp_path / "spool", 5)
    finally:
        server.close()
    assert len(server.stored) == 3
    counts = status["rules"]["low"]
    assert counts["uploaded"] == 3 and counts["quarantined"] == 2 and not counts["dropped"]
    assert status["spool"]["entries"] == 0 and status["spool"]["quarantined"] == 2
    held = Spool(tmp_path / "spool").quarantined()
    assert [(q.status, q.code, q.message, q.rule) for q in held] == [
        (fault, f"e{fault}", f"injected {fault}", "low")
    ] * 2
    assert all((tmp_path / "spool" / "quarantine" / f"{q.id}.jpg").stat().st_size == q.size for q in held)


class RaisesOnce:
    """A transport whose first call raises an unexpected exception (a bug, not a server answer)."""

    def __init__(self, inner: FolderTransport) -> None:
        self.inner, self.calls = inner, 0

    def send(self, jpeg: bytes, frame: FrameRecord) -> bool:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("boom in the transport")
        return self.inner.send(jpeg, frame)

    def close(self) -> None:
        self.inner.close()


def test_the_uploader_survives_an_exception_from_the_transport(tmp_path: Path) -> None:
    transport = RaisesOnce(FolderTransport(tmp_path / "out"))
    with Collector(
        transport=transport, spool_dir=tmp_path / "spool", rules=Sampler([ConfidenceBelow(0.4, name="low")])
    ) as collector:
        assert collector.uploader is not None
        collector.uploader.base_delay = 0.02
        for i in range(4):
            collector.observe(np.random.default_rng(i).integers(0, 256, (60, 80, 3), dtype=np.uint8), LOW)
        assert collector.flush(timeout=20)
        status = collector.status()
        assert collector.uploader.alive()
    assert status["uploader"]["errors"] == 1 and status["rules"]["low"]["uploaded"] == 4
    assert len(list((tmp_path / "out").glob("*.jpg"))) == 4


def test_the_uploader_survives_an_exception_from_the_spool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FlakyServer([])
    try:
        collector = start(server, tmp_path / "spool")
        real_due = collector.spool.due
        calls = {"n": 0}

        def broken_once(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 1:
                raise sqlite3.OperationalError("disk I/O error")
            return real_due(*args, **kwargs)

        monkeypatch.setattr(collector.spool, "due", broken_once)
        for i in range(3):
            collector.observe(np.random.default_rng(i).integers(0, 256, (60, 80, 3), dtype=np.uint8), LOW)
        assert collector.flush(timeout=20)
        status = collector.status()
        collector.close()
    finally:
        server.close()
    assert status["uploader"]["errors"] == 1 and len(server.stored) == 3
