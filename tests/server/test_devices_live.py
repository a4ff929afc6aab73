"""Devices with real processes: two `framescout collect` runs over the real videos at once against a real
server; the devices list shows each with the counters its own final summary printed, its labels and
versions, online; with ``last_seen`` set back through the store, stale then offline. And many
heartbeats from two devices at once, over HTTP, none lost (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

import framescout as framescout_package
from backends import environment
from framescout.client import Client
from framescout.store import Store
from framescout.store.datadir import BLOB_URL_ENV, DATABASE_URL_ENV
from framescout.store.models import Device, utcnow
from server.conftest import Live

pytestmark = pytest.mark.both_backends
VIDEOS = ("people.mp4", "soccer.mp4")
RULES = """version: 1
seed: 3
rules:
  - name: nothing
    type: nothing_detected
    limits: {per_minute: 20}
  - name: low
    type: confidence
    below: 0.5
  - name: sample
    type: random
    probability: 0.2
"""
SUMMARY = re.compile(
    r"(?P<seen>\d+) frame\(s\) seen, (?P<kept>\d+) kept, (?P<uploaded>\d+) uploaded to \S+ \(new\), "
    r"(?P<duplicates>\d+) already on the server \(duplicates\), (?P<quarantined>\d+) quarantined; "
    r"(?P<waiting>\d+) waiting in the spool"
)


def new_project(live: Live) -> str:
    name = f"acme/fleet-{uuid.uuid4().hex[:8]}"
    live.server.cli("projects", "create", name)
    return name


def open_store(live: Live) -> Store:
    """The server's store, opened by the test (its database and blobs where the server has them)."""
    env = live.server.env
    with environment({k: v for k, v in env.items() if k.startswith("AWS_")}):
        return Store.open(
            live.server.data_dir, database_url=env.get(DATABASE_URL_ENV), blob_url=env.get(BLOB_URL_ENV)
        )


def start_collect(
    live: Live, project: str, video: Path, nanodet: Path, spool: Path, device: str, *labels: str
) -> subprocess.Popen[str]:
    """A real ``framescout collect`` over ``video``, heartbeats every half second."""
    rules = spool.with_suffix(".yaml")
    rules.write_text(RULES)
    args = [
        "collect", "--source", str(video), "--max-frames", "30", "--every", "3",
        "--model", str(nanodet), "--classes", str(nanodet.parent / "coco.names"), "--rules", str(rules),
        "--server", live.server.url, "--api-key", live.key, "--project", project,
        "--spool", str(spool), "--device-id", device, "--model-version", "3",
        "--heartbeat-interval", "0.5", "--drain-timeout", "60",
        *(arg for label in labels for arg in ("--labels", label)),
    ]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "framescout", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def summary(process: subprocess.Popen[str]) -> dict[str, int]:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, out + err
    found = SUMMARY.search(" ".join(out.split()))
    assert found, out
    return {name: int(value) for name, value in found.groupdict().items()}


def test_devices_list_the_final_counters_of_two_collectors_running_at_once(
    live: Live, coco_tiny: Path, nanodet_path: Path, tmp_path: Path
) -> None:
    project = new_project(live)
    videos = [coco_tiny.parent / "videos" / name for name in VIDEOS]
    north = start_collect(
        live, project, videos[0], nanodet_path, tmp_path / "north", "cam-north", "site=north", "kind=dome"
    )
    south = start_collect(
        live, project, videos[1], nanodet_path, tmp_path / "south", "cam-south", "site=south"
    )
    printed = {"cam-north": summary(north), "cam-south": summary(south)}
    with Client(live.server.url, live.key) as client:
        devices = {d["device_id"]: d for d in client.list_devices(project)}
        assert set(devices) == {"cam-north", "cam-south"}
        for device_id, said in printed.items():
            device = devices[device_id]
            counters = device["counters"]
            assert said["seen"] == 30 and said["kept"] > 0, said
            assert {
                name: counters[name] for name in ("seen", "kept", "uploaded", "duplicates", "quarantined")
            } == {name: said[name] for name in ("seen", "kept", "uploaded", "duplicates", "quarantined")}
            assert device["spool"]["entries"] == said["waiting"] == 0
            assert counters["spooled"] == counters["kept"] and counters["dropped"] == 0
            per_rule = counters["per_rule"]
            assert sum(rule["kept"] for rule in per_rule.values()) == counters["kept"]
            for rule, counts in per_rule.items():  # what the server stored, per rule, agrees
                stored = client.list_images(project, sampling_rule=rule, device_id=device_id, limit=1)
                assert stored["total"] == counts["uploaded"], (device_id, rule)
            assert counters["nothing_detected"] >= per_rule.get("nothing", {"kept": 0})["kept"]
            assert device["state"] == "online" and device["stopped"] is True
            assert (device["model_version"], device["rules_etag"]) == ("3", None)
            assert device["software_version"] == framescout_package.__version__
            assert device["heartbeats"] >= 2  # at least the first and the final one
            history = client._json("GET", f"/api/v1/projects/{project}/devices/{device_id}")["history"]
            assert history[-1]["final"] and history[-1]["seen"] == 30
        assert devices["cam-north"]["labels"] == {"site": "north", "kind": "dome"}
        assert devices["cam-south"]["labels"] == {"site": "south"}
        assert [d["device_id"] for d in client.list_devices(project, {"site": "south"})] == ["cam-south"]

        store = open_store(live)
        try:
            for age, state in ((300, "stale"), (3600, "offline")):
                with store.db.writing() as session:
                    session.execute(
                        update(Device)
                        .where(Device.device_id == "cam-north")
                        .values(last_seen=utcnow() - timedelta(seconds=age))
                    )
                states = {d["device_id"]: d["state"] for d in client.list_devices(project)}
                assert states == {"cam-north": state, "cam-south": "online"}
        finally:
            store.close()


def test_heartbeats_from_two_devices_at_once_are_all_counted(live: Live) -> None:
    """Eight threads post 20 heartbeats each to a real server, half as each of two new devices."""
    project = new_project(live)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def send(device: str, thread: int) -> None:
        try:
            with Client(live.server.url, live.key) as client:
                barrier.wait()
                for n in range(20):
                    body: dict[str, Any] = {
                        "counters": {"seen": n, "kept": thread},
                        "labels": {"t": str(thread)},
                    }
                    client.send_heartbeat(project, device, body)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(f"cam-{i % 2}", i)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Client(live.server.url, live.key) as client:
        devices = client.list_devices(project)
    assert [(d["device_id"], d["heartbeats"], d["state"]) for d in devices] == [
        ("cam-0", 80, "online"),
        ("cam-1", 80, "online"),
    ]
    assert all(d["counters"]["seen"] == 19 for d in devices)  # every thread's last heartbeat said 19
