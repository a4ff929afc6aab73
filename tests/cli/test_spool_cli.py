"""`framescout spool push` and `spool quarantine list|retry|drop` end to end (real processes) against a
stand-in server that refuses chosen frames."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from framescout import Predictions
from framescout.collector import Collector, Spool
from framescout.sampling import ConfidenceBelow, Sampler
from helpers import framescout
from stand_in_server import FlakyServer

LOW = Predictions.from_arrays([[0, 0, 10, 10]], [0.1], [0], class_name=["x"])


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    """Six frames kept offline, named f0..f5."""
    folder = tmp_path / "spool"
    with Collector(rules=Sampler([ConfidenceBelow(0.4, name="low")]), spool_dir=folder) as collector:
        for i in range(6):
            image = np.random.default_rng(i).integers(0, 256, (60, 80, 3), dtype=np.uint8)
            collector.observe(image, LOW, name=f"f{i}")
        collector.flush()
    return folder


@pytest.fixture
def refusing() -> Iterator[FlakyServer]:
    server = FlakyServer([413, 422, 415])
    yield server
    server.close()


def server_args(server: FlakyServer, spool: Path) -> list[str]:
    return ["--server", server.url, "--api-key", "k", "--project", "acme/cams", "--spool", str(spool)]


def test_push_quarantines_refused_frames_then_list_drop_and_retry(spool: Path, refusing: FlakyServer) -> None:
    pushed = framescout("spool", "push", *server_args(refusing, spool))
    assert pushed.returncode == 4, pushed.stdout + pushed.stderr
    assert (
        "uploaded 3 new, 0 already on the server (duplicates), 3 quarantined; 0 left in the spool"
        in pushed.stdout
    )
    assert "3 frame(s) quarantined" in pushed.stdout and "spool quarantine list" in pushed.stdout
    assert len(refusing.stored) == 3

    status = framescout("spool", "status", "--spool", str(spool))
    assert status.returncode == 0 and "3 quarantined frame(s)" in status.stdout

    listed = framescout("spool", "quarantine", "list", "--spool", str(spool))
    assert listed.returncode == 0 and "3 quarantined frame(s)" in listed.stdout
    for status_code in ("413", "422", "415"):
        assert re.search(rf"\b{status_code}\b.*e{status_code}: injected {status_code}", listed.stdout)
    held = Spool(spool).quarantined()
    assert sorted(q.meta["name"] for q in held) == ["f0", "f1", "f2"]  # the first three sent, oldest first
    assert all(q.id[:12] in listed.stdout for q in held)

    refused = framescout("spool", "quarantine", "drop", "--spool", str(spool))
    assert refused.returncode == 1 and "--all" in refused.stderr
    unknown = framescout("spool", "quarantine", "drop", "nope", "--spool", str(spool))
    assert unknown.returncode == 1 and "no quarantined frame matches" in unknown.stderr

    dropped = framescout("spool", "quarantine", "drop", held[0].id[:12], "--spool", str(spool))
    assert dropped.returncode == 0 and "dropped 1 quarantined frame(s); 2 left" in dropped.stdout
    assert not (spool / "quarantine" / f"{held[0].id}.jpg").exists()

    queued = framescout("spool", "quarantine", "retry", held[1].id[:12], "--spool", str(spool))
    assert queued.returncode == 0 and "moved 1 quarantined frame(s) back into the queue" in queued.stdout
    after = Spool(spool)
    assert [e.id for e in after.due()] == [held[1].id] and [q.id for q in after.quarantined()] == [held[2].id]
    after.close()

    retried = framescout("spool", "quarantine", "retry", *server_args(refusing, spool))
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "moved 1 quarantined" in retried.stdout and "uploaded 2 new" in retried.stdout
    assert len(refusing.stored) == 5 and set(refusing.stored.values()) == {1}
    final = Spool(spool).stats()
    assert final["entries"] == 0 and final["quarantined"] == 0


def test_push_exits_3_when_frames_are_left(spool: Path, tmp_path: Path) -> None:
    down = FlakyServer([503] * 1000)
    try:
        pushed = framescout("spool", "push", *server_args(down, spool), "--timeout", "1")
    finally:
        down.close()
    assert pushed.returncode == 3, pushed.stdout + pushed.stderr
    assert "6 frame(s) left in the spool" in pushed.stdout and "503" in pushed.stdout
    assert Spool(spool).stats()["entries"] == 6
