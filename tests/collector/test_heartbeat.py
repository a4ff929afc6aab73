"""The collector's heartbeats (`collector.heartbeat`): the body built from a real collector's status (and
taken by the server's schema), the thread's failures backed off and never fatal, device ids and labels
checked before anything starts."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from framescout import __version__
from framescout.client import Client
from framescout.collector import Collector
from framescout.collector.heartbeat import Heartbeats, heartbeat_body, server_heartbeats
from framescout.predictions import Predictions
from framescout.sampling import Sampler
from framescout.sampling.rules import ConfidenceBelow, RandomSample
from framescout.server.device_schemas import HeartbeatIn
from framescout.server.process import ServerProcess, free_port
from helpers import framescout

LOW = Predictions.from_arrays([[0, 0, 10, 10]], [0.1], [0], class_name=["x"])
NOTHING = Predictions.from_arrays(np.zeros((0, 4)), [], [], class_name=[])


def frame(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (60, 80, 3), dtype=np.uint8)


def test_the_body_carries_the_collectors_own_counts(tmp_path: Path) -> None:
    sampler = Sampler([ConfidenceBelow(0.4, name="low"), RandomSample(1.0, name="all")])
    collector = Collector(
        rules=sampler,
        spool_dir=tmp_path / "spool",
        device_id="cam-7",
        labels={"site": "north"},
        model_version="3",
    )
    for i in range(6):
        collector.observe(frame(i), LOW if i % 3 == 0 else NOTHING)
    collector.close(timeout=0)
    status = collector.status()
    body = collector.heartbeat(final=True)
    rules = status["rules"]
    assert body["labels"] == {"site": "north"} and body["model_version"] == "3" and body["final"] is True
    assert body["software_version"] == __version__ and body["rules_etag"] is None
    counters = body["counters"]
    assert counters["seen"] == status["seen"] == 6
    assert counters["nothing_detected"] == status["nothing_detected"] == 4
    assert counters["kept"] == sum(r["kept"] for r in rules.values()) == 6
    assert counters["spooled"] == sum(r["queued"] for r in rules.values())
    assert {name: c["kept"] for name, c in counters["per_rule"].items()} == {"low": 2, "all": 4}
    assert body["spool"] == {"entries": status["spool"]["entries"], "bytes": status["spool"]["bytes"]}
    assert body["spool"]["entries"] == 6  # offline: everything waits in the spool
    parsed = HeartbeatIn.model_validate(body)  # what the server's route takes
    assert parsed.counters.per_rule["low"].spooled == rules["low"]["queued"]
    assert parsed.started_at is not None and parsed.started_at.tzinfo is not None


def test_the_versions_the_collector_runs_now_win() -> None:
    status = {"seen": 0, "rules": {}, "spool": {"entries": 0, "bytes": 0}, "rules_etag": '"e2"'}
    body = heartbeat_body(
        status | {"model_version": "5"},
        labels={},
        model_version="4",
        software_version="x",
        started_at=datetime.now(UTC),
    )
    assert (body["model_version"], body["rules_etag"]) == ("5", '"e2"')


def test_failures_are_backed_off_and_never_raise() -> None:
    """Against a port nothing listens on: every heartbeat fails, the thread lives on, the waits grow
    from the interval up to ten of them, and stopping still tries the final heartbeat at once."""
    heartbeats = server_heartbeats(
        f"http://127.0.0.1:{free_port()}",
        "k",
        "acme/cams",
        "cam-1",
        lambda final: {"final": final},
        interval=0.05,
    )
    heartbeats.start()
    deadline = time.monotonic() + 10
    while heartbeats.status()["errors"] < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    status = heartbeats.status()
    assert status["errors"] >= 3 and status["sent"] == 0 and "ServerUnavailable" in status["last_error"]
    assert heartbeats.backoff.ceiling(30) == pytest.approx(0.5)
    waits = [heartbeats.wait() for _ in range(50)]
    assert all(0.0 < w <= 0.5 for w in waits) and max(waits) > 0.05
    started = time.monotonic()
    heartbeats.stop(timeout=5)
    assert time.monotonic() - started < 5
    assert heartbeats.status()["errors"] > status["errors"]  # the final one was tried


def test_a_success_resets_the_backoff() -> None:
    answers: list[bool] = [False, False, True]
    sent: list[dict[str, object]] = []

    def send(body: dict[str, object]) -> None:
        if not answers.pop(0):
            raise ConnectionError("down")
        sent.append(body)

    heartbeats = Heartbeats(send, lambda final: {"final": final}, interval=10.0, seed=1)
    assert not heartbeats.beat() and not heartbeats.beat()
    assert heartbeats.status()["failing"] == 2 and heartbeats.wait() >= 10.0  # backed off past the interval
    assert heartbeats.beat() and heartbeats.wait() == 10.0
    assert heartbeats.status() | {"last_sent": None} == {
        "sent": 1,
        "errors": 2,
        "failing": 0,
        "last_error": None,
        "last_sent": None,
    }
    with pytest.raises(ValueError, match="positive"):
        Heartbeats(send, lambda final: {}, interval=0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"device_id": "cam 1"}, "device id 'cam 1'"),
        ({"labels": {"bad key": "x"}}, "label key 'bad key'"),
    ],
)
def test_the_collector_refuses_bad_ids_and_labels(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Collector(spool_dir=tmp_path / "spool", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device-id", "cam 1"], "error: --device-id: device id 'cam 1'"),
        (["--labels", "site"], "error: --labels: label 'site': write it as key=value"),
        (["--labels", "a=1", "--labels", "a=2"], "error: --labels: label a is given twice"),
        (["--labels", "site=north,south"], "error: --labels: label site: value 'north,south' may hold"),
    ],
)
def test_collect_refuses_bad_ids_and_labels_in_one_line(
    tmp_path: Path, nanodet_path: Path, args: list[str], message: str
) -> None:
    done = framescout(
        "collect",
        "--source",
        str(tmp_path),
        "--model",
        str(nanodet_path),
        "--spool",
        str(tmp_path / "s"),
        *args,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert message in " ".join(done.stderr.split()), done.stderr


def test_the_server_lists_the_collectors_final_status(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A `Collector` beating every 50 ms into a real server: after `close()`, the device's counters are
    the collector's own final `status()`, and no heartbeat failed on the way (not even while closing)."""
    server = ServerProcess(tmp_path / "server-data")
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/cams")
    sampler = Sampler([ConfidenceBelow(0.4, name="low"), RandomSample(0.5, name="half", seed=2)])
    with server, caplog.at_level(logging.DEBUG, logger="framescout.collector"):
        collector = Collector(
            server=server.url,
            api_key=key,
            project="acme/cams",
            rules=sampler,
            spool_dir=tmp_path / "spool",
            device_id="cam-7",
            labels={"site": "gate"},
            heartbeat_interval=0.05,
        )
        for i in range(12):
            collector.observe(frame(i), LOW if i % 4 == 0 else NOTHING)
            time.sleep(0.02)
        collector.close(timeout=30)
        status = collector.status()
        with Client(server.url, key) as client:
            (device,) = client.list_devices("acme/cams")
    assert "heartbeat failed" not in caplog.text
    assert status["heartbeat"]["sent"] >= 3 and status["heartbeat"]["errors"] == 0
    counters = device["counters"]
    assert (
        (counters["seen"], counters["nothing_detected"])
        == (status["seen"], status["nothing_detected"])
        == (12, 9)
    )
    for name, counts in status["rules"].items():
        sent = counters["per_rule"][name]
        assert (sent["kept"], sent["uploaded"], sent["duplicates"]) == (
            counts["kept"],
            counts["uploaded"],
            counts["duplicates"],
        )
    assert counters["uploaded"] == sum(c["uploaded"] for c in status["rules"].values()) > 0
    assert device["spool"] == {"entries": 0, "bytes": 0} and device["stopped"] is True
    assert device["labels"] == {"site": "gate"} and device["heartbeats"] == status["heartbeat"]["sent"]
