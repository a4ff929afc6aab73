"""Devices and their heartbeats (`store.devices`) on a real SQLite store and on PostgreSQL + S3: the
upsert, states from ``last_seen``, label filters, the bounded history, concurrent heartbeats."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from backends import Backend
from framescout.store import Store
from framescout.store.accounts import create_project, get_or_create_workspace
from framescout.store.devices import (
    ONLINE_SECONDS,
    STALE_SECONDS,
    Bounds,
    Heartbeat,
    device_history,
    device_state,
    fleet_history,
    get_device,
    list_devices,
    record_heartbeat,
)
from framescout.store.errors import Conflict, NotFound
from framescout.store.models import Project

pytestmark = pytest.mark.both_backends
T0 = datetime(2026, 12, 1, 12, 0, 0)


@dataclass
class Fleet:
    store: Store
    cams: Project
    other: Project


@pytest.fixture
def fleet(tmp_path: Path, backend: Backend) -> Iterator[Fleet]:
    store = backend.open(tmp_path / "data")
    with store.db.writing() as session:
        ws = get_or_create_workspace(session, "acme")
        cams, other = create_project(session, ws, "cams"), create_project(session, ws, "other")
    yield Fleet(store, cams, other)
    store.close()


def beat(seen: int, kept: int, *, run: datetime = T0, final: bool = False, **fields: object) -> Heartbeat:
    counters = {
        "seen": seen,
        "kept": kept,
        "nothing_detected": seen // 2,
        "per_rule": {"low": {"kept": kept}},
    }
    return Heartbeat(counters=counters, started_at=run, final=final, **fields)  # type: ignore[arg-type]


def test_first_heartbeat_creates_the_device_and_later_ones_update_it(fleet: Fleet) -> None:
    db = fleet.store.db
    record_heartbeat(
        db, fleet.cams, "cam-1", beat(10, 2, labels={"site": "north"}, model_version="3"), now=T0
    )
    later = T0 + timedelta(seconds=30)
    record_heartbeat(
        db,
        fleet.cams,
        "cam-1",
        beat(25, 4, labels={"site": "south"}, rules_etag='"abc"', software_version="1.2", spool_entries=3),
        now=later,
    )
    (device,) = list_devices(db, fleet.cams, now=later)
    assert (device.device_id, device.first_seen, device.last_seen) == ("cam-1", T0, later)
    assert device.labels == {"site": "south"}  # the device's word, replaced each time
    assert (device.model_version, device.rules_etag, device.software_version) == (None, '"abc"', "1.2")
    assert device.counters["seen"] == 25 and device.counters["per_rule"] == {"low": {"kept": 4}}
    assert (device.spool_entries, device.heartbeats, device.state, device.stopped) == (3, 2, "online", False)
    assert get_device(db, fleet.cams, "cam-1", now=later) == device
    assert list_devices(db, fleet.other) == []
    with pytest.raises(NotFound) as missing:
        get_device(db, fleet.other, "cam-1")
    assert missing.value.code == "device_not_found"


def test_state_follows_the_age_of_the_last_heartbeat(fleet: Fleet) -> None:
    record_heartbeat(fleet.store.db, fleet.cams, "cam-1", beat(1, 0), now=T0)
    for age, state in [
        (0, "online"),
        (ONLINE_SECONDS - 1, "online"),
        (ONLINE_SECONDS, "stale"),
        (STALE_SECONDS - 1, "stale"),
        (STALE_SECONDS, "offline"),
        (86_400, "offline"),
    ]:
        (device,) = list_devices(fleet.store.db, fleet.cams, now=T0 + timedelta(seconds=age))
        assert device.state == state, age
    assert device_state(T0, T0 + timedelta(seconds=20), online=10, stale=30) == "stale"


def test_label_filter_keeps_devices_carrying_every_label(fleet: Fleet) -> None:
    db = fleet.store.db
    record_heartbeat(db, fleet.cams, "a", beat(1, 0, labels={"site": "north", "kind": "dome"}), now=T0)
    record_heartbeat(db, fleet.cams, "b", beat(1, 0, labels={"site": "north"}), now=T0)
    record_heartbeat(db, fleet.cams, "c", beat(1, 0), now=T0)

    def ids(labels: dict[str, str]) -> list[str]:
        return [d.device_id for d in list_devices(db, fleet.cams, labels=labels, now=T0)]

    assert ids({}) == ["a", "b", "c"]
    assert ids({"site": "north"}) == ["a", "b"]
    assert ids({"site": "north", "kind": "dome"}) == ["a"]
    assert ids({"site": "south"}) == []


def test_history_keeps_one_point_per_bucket_and_run_and_stays_bounded(fleet: Fleet) -> None:
    db = fleet.store.db
    for n in range(4):  # 0, 30, 60, 90 s: two buckets of 60 s
        record_heartbeat(db, fleet.cams, "cam-1", beat(10 * n, n), now=T0 + timedelta(seconds=30 * n))
    points = device_history(db, fleet.cams, "cam-1")
    assert [(p.seen, p.kept, p.kept_per_rule) for p in points] == [(10, 1, {"low": 1}), (30, 3, {"low": 3})]
    assert points[-1].at == T0 + timedelta(seconds=90) and points[-1].nothing_detected == 15
    restarted = T0 + timedelta(seconds=95)  # a new run in the same bucket starts its own point
    record_heartbeat(db, fleet.cams, "cam-1", beat(1, 0, run=restarted), now=T0 + timedelta(seconds=100))
    assert [(p.seen, p.started_at) for p in device_history(db, fleet.cams, "cam-1")][-2:] == [
        (30, T0),
        (1, restarted),
    ]
    for n in range(10):
        record_heartbeat(
            db, fleet.cams, "cam-2", beat(n, 0), now=T0 + timedelta(minutes=n), bounds=Bounds(points=4)
        )
    assert [p.seen for p in device_history(db, fleet.cams, "cam-2")] == [6, 7, 8, 9]
    assert set(fleet_history(db, fleet.cams)) == {"cam-1", "cam-2"}
    assert fleet_history(db, fleet.cams, since=T0 + timedelta(minutes=8))["cam-2"][0].seen == 8
    assert device_history(db, fleet.other, "cam-1") == []


def test_a_final_heartbeat_marks_the_device_stopped(fleet: Fleet) -> None:
    db = fleet.store.db
    record_heartbeat(db, fleet.cams, "cam-1", beat(5, 1), now=T0)
    record_heartbeat(db, fleet.cams, "cam-1", beat(9, 2, final=True), now=T0 + timedelta(seconds=5))
    assert get_device(db, fleet.cams, "cam-1", now=T0).stopped
    assert [p.final for p in device_history(db, fleet.cams, "cam-1")] == [True]


def test_devices_per_project_are_capped(fleet: Fleet) -> None:
    db = fleet.store.db
    for name in ("a", "b"):
        record_heartbeat(db, fleet.cams, name, beat(1, 0), now=T0, bounds=Bounds(max_devices=2))
    record_heartbeat(
        db, fleet.cams, "a", beat(2, 0), now=T0, bounds=Bounds(max_devices=2)
    )  # a known one: fine
    with pytest.raises(Conflict) as refused:
        record_heartbeat(db, fleet.cams, "c", beat(1, 0), now=T0, bounds=Bounds(max_devices=2))
    assert refused.value.code == "too_many_devices"
    record_heartbeat(db, fleet.other, "c", beat(1, 0), now=T0, bounds=Bounds(max_devices=2))  # per project


def test_concurrent_heartbeats_from_several_threads_lose_none(fleet: Fleet) -> None:
    """Eight threads, each sending 10 heartbeats as one of two new devices at once: both rows exist,
    with every heartbeat counted (a racing first INSERT must become an update, not an error)."""
    db = fleet.store.db
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def send(device: str) -> None:
        try:
            start.wait()
            for n in range(10):
                record_heartbeat(db, fleet.cams, device, beat(n, 0))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(f"cam-{i % 2}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    devices = list_devices(db, fleet.cams)
    assert [(d.device_id, d.heartbeats, d.state) for d in devices] == [
        ("cam-0", 40, "online"),
        ("cam-1", 40, "online"),
    ]
