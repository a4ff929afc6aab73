"""A small fleet for the Devices page's tests: real heartbeats posted to a real server, then moved back
in time in its store (the store stamps each heartbeat with the server's clock; a test cannot wait ten
minutes for a device to go offline), as a device's history would have been written minute by minute.

`post_fleet` leaves five devices: ``cam-gate`` healthy, ``cam-dock`` quiet for 30 min, ``cam-yard``
whose model stopped detecting, ``cam-roof`` whose spool grows, ``cam-lab`` stopped on purpose."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from framescout.store import Store
from framescout.store.models import Device, DeviceHeartbeat

Post = Callable[[str, dict[str, Any]], int]
"""Post one heartbeat body for a device id; returns the HTTP status."""

STARTED = "2026-12-01T08:00:00Z"
FLAGGED = {
    "cam-dock": "quiet",
    "cam-roof": "spool",
    "cam-yard": "nothing_detected",
}
"""The devices `post_fleet` leaves flagged, and why."""
CALM = ["cam-gate", "cam-lab"]


def beat(
    seen: int,
    nothing: int,
    *,
    kept: dict[str, int] | None = None,
    spool: int = 0,
    final: bool = False,
    **fields: Any,
) -> dict[str, Any]:
    """A heartbeat body: the run's totals so far (``kept``: per rule)."""
    per_rule = {rule: {"kept": n, "uploaded": n} for rule, n in (kept or {}).items()}
    total = sum((kept or {}).values())
    return {
        "model_version": "2",
        "rules_etag": '"4c1d9a2b77e0f00d"',
        "software_version": "0.9.0",
        "counters": {
            "seen": seen,
            "kept": total,
            "uploaded": total,
            "spooled": total + spool,
            "nothing_detected": nothing,
            "per_rule": per_rule,
        },
        "spool": {"entries": spool, "bytes": spool * 150_000},
        "started_at": STARTED,
        "final": final,
        **fields,
    }


def age(store: Store, device_id: str, by: timedelta) -> None:
    """Move a device's last heartbeat and its whole history ``by`` into the past."""
    with store.db.writing() as session:
        device = session.scalars(select(Device).where(Device.device_id == device_id)).one()
        device.last_seen -= by
        device.first_seen -= by
        for point in session.scalars(select(DeviceHeartbeat).where(DeviceHeartbeat.device_id == device_id)):
            point.at -= by


def history(post: Post, store: Store, device_id: str, beats: list[dict[str, Any]], minutes: float) -> None:
    """Post ``beats`` as heartbeats ``minutes`` apart, the last one now."""
    for i, body in enumerate(beats):
        assert post(device_id, body) == 204
        if i < len(beats) - 1:
            age(store, device_id, timedelta(minutes=minutes))


def post_fleet(post: Post, store: Store) -> None:
    """Post the five devices' heartbeats (see the module's docstring)."""
    gate = [
        beat(100 * i, 10 * i, kept={"low-confidence": 3 * i, "random": i // 2}, labels={"site": "gate"})
        for i in range(1, 7)
    ]
    history(post, store, "cam-gate", gate, 1)
    history(
        post, store, "cam-dock", [beat(300, 30, kept={"random": 2}), beat(600, 60, kept={"random": 4})], 1
    )
    age(store, "cam-dock", timedelta(minutes=30))
    # 5% of frames showed nothing, then 95% of the last 400 (a covered lens).
    yard = [beat(2000, 100, kept={"low-confidence": 8}), beat(2400, 480, kept={"low-confidence": 9})]
    history(post, store, "cam-yard", yard, 20)
    roof = [beat(500 * i, 50 * i, kept={"random": 3 * i}, spool=35 * (i - 1)) for i in range(1, 4)]
    history(post, store, "cam-roof", roof, 2)
    history(post, store, "cam-lab", [beat(50, 5), beat(80, 8, final=True)], 1)
    age(store, "cam-lab", timedelta(minutes=45))
