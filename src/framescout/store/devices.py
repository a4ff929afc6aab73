"""Devices of a project: the last heartbeat of each collector, its state, and a bounded history.

`record_heartbeat` is one short write transaction: an upsert of the device row on its primary key
``(project_id, device_id)`` (``INSERT … ON CONFLICT DO UPDATE`` on PostgreSQL and SQLite, so two
heartbeats racing for a new device never collide, and the row lock orders those of one device), then
the history point of the current time bucket. Times are the server's (``last_seen``), never the
device's clock. A device's state is computed when it is read: ``online`` while its last heartbeat is
under `ONLINE_SECONDS` old, ``stale`` under `STALE_SECONDS`, ``offline`` beyond."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from framescout.labels import matches
from framescout.store.db import Database
from framescout.store.errors import Conflict, NotFound
from framescout.store.models import Device, DeviceHeartbeat, Project, utcnow

ONLINE_SECONDS = 90.0
"""A device is ``online`` while its last heartbeat is younger than this (three 30 s heartbeats)."""
STALE_SECONDS = 600.0
"""… ``stale`` while younger than this (10 min), ``offline`` after."""
STATES = ("online", "stale", "offline")
HISTORY_SPACING_SECONDS = 60.0
"""The history keeps one point per device and bucket of this many seconds: the bucket's last heartbeat."""
HISTORY_POINTS = 720
"""Points kept per device (12 hours at one a minute); older ones are deleted as new ones arrive."""
MAX_DEVICES = 10_000
"""Devices per project; a heartbeat from one more is refused (``too_many_devices``)."""


@dataclass(frozen=True)
class Bounds:
    """How much `record_heartbeat` keeps: the history's bucket (``spacing`` s) and ``points`` per
    device, and ``max_devices`` per project (tests shrink them)."""

    spacing: float = HISTORY_SPACING_SECONDS
    points: int = HISTORY_POINTS
    max_devices: int = MAX_DEVICES


@dataclass(frozen=True)
class Heartbeat:
    """What a device says about itself (checked at the edge: `server.routers.devices`).

    ``counters`` holds the run's totals ``seen``, ``kept``, ``uploaded``, ``duplicates``, ``spooled``,
    ``dropped``, ``quarantined``, ``nothing_detected`` and ``per_rule`` (rule → its counts)."""

    labels: Mapping[str, str] = field(default_factory=dict)
    model_version: str | None = None
    rules_etag: str | None = None
    software_version: str | None = None
    counters: Mapping[str, Any] = field(default_factory=dict)
    spool_entries: int = 0
    spool_bytes: int = 0
    started_at: datetime | None = None
    final: bool = False


@dataclass(frozen=True)
class DeviceView:
    """A device as listed: the stored row plus its ``state`` at the time of reading."""

    device_id: str
    labels: dict[str, str]
    first_seen: datetime
    last_seen: datetime
    state: str
    model_version: str | None
    rules_etag: str | None
    software_version: str | None
    counters: dict[str, Any]
    spool_entries: int
    spool_bytes: int
    started_at: datetime | None
    stopped: bool
    heartbeats: int


@dataclass(frozen=True)
class HistoryPoint:
    """A device's run totals at ``at`` (the last heartbeat of its bucket). Totals restart with each run:
    compare ``started_at`` of two points before taking their difference."""

    at: datetime
    started_at: datetime | None
    seen: int
    kept: int
    nothing_detected: int
    uploaded: int
    dropped: int
    quarantined: int
    spool_entries: int
    spool_bytes: int
    kept_per_rule: dict[str, int]
    final: bool


def device_state(
    last_seen: datetime, now: datetime, *, online: float = ONLINE_SECONDS, stale: float = STALE_SECONDS
) -> str:
    """``online``, ``stale`` or ``offline`` for a device last seen at ``last_seen`` (naive UTC)."""
    age = (now - last_seen).total_seconds()
    return "online" if age < online else "stale" if age < stale else "offline"


def _upsert(dialect: str) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(Device)
    if dialect == "sqlite":
        return sqlite.insert(Device)
    raise NotImplementedError(f"devices need PostgreSQL or SQLite, not {dialect}")


def _bucket(moment: datetime, spacing: float) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp() // spacing)


def record_heartbeat(
    db: Database,
    project: Project,
    device_id: str,
    beat: Heartbeat,
    *,
    now: datetime | None = None,
    bounds: Bounds = Bounds(),
) -> None:
    """Store ``beat`` as device ``device_id``'s latest (created on its first heartbeat) and as the
    history point of the current bucket, within ``bounds``."""
    now = now or utcnow()
    values: dict[str, Any] = {
        "labels": dict(beat.labels),
        "last_seen": now,
        "model_version": beat.model_version,
        "rules_etag": beat.rules_etag,
        "software_version": beat.software_version,
        "counters": dict(beat.counters),
        "spool_entries": beat.spool_entries,
        "spool_bytes": beat.spool_bytes,
        "started_at": beat.started_at,
        "stopped": beat.final,
    }
    with db.write_engine.begin() as conn:
        _check_room(conn, project, device_id, bounds.max_devices)
        statement = _upsert(conn.dialect.name).values(
            project_id=project.id, device_id=device_id, first_seen=now, heartbeats=1, **values
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[Device.project_id, Device.device_id],
                set_={**values, "heartbeats": Device.heartbeats + 1},
            )
        )
        _add_point(conn, project, device_id, beat, now, bounds)


def _check_room(conn: Connection, project: Project, device_id: str, max_devices: int) -> None:
    """Refuse a new device past ``max_devices`` in the project (a known one always gets through)."""
    known = conn.scalar(
        select(func.count()).where(Device.project_id == project.id, Device.device_id == device_id)
    )
    if known:
        return
    count = conn.scalar(select(func.count()).select_from(Device).where(Device.project_id == project.id))
    if int(count or 0) >= max_devices:
        raise Conflict(
            "too_many_devices", f"project {project.slug!r} already has {max_devices:,} devices; no more"
        )


def _add_point(
    conn: Connection,
    project: Project,
    device_id: str,
    beat: Heartbeat,
    now: datetime,
    bounds: Bounds,
) -> None:
    """Insert the bucket's point, or update it when this run's last point is in the same bucket."""
    mine = (DeviceHeartbeat.project_id == project.id, DeviceHeartbeat.device_id == device_id)
    last = conn.execute(
        select(DeviceHeartbeat.id, DeviceHeartbeat.at, DeviceHeartbeat.started_at)
        .where(*mine)
        .order_by(DeviceHeartbeat.id.desc())
        .limit(1)
    ).first()
    counters = beat.counters
    per_rule = counters.get("per_rule") or {}
    row: dict[str, Any] = {
        "at": now,
        "started_at": beat.started_at,
        **{name: int(counters.get(name) or 0) for name in ("seen", "kept", "nothing_detected", "uploaded")},
        "dropped": int(counters.get("dropped") or 0),
        "quarantined": int(counters.get("quarantined") or 0),
        "spool_entries": beat.spool_entries,
        "spool_bytes": beat.spool_bytes,
        "kept_per_rule": {name: int(counts.get("kept") or 0) for name, counts in per_rule.items()},
        "final": beat.final,
    }
    if (
        last is not None
        and last.started_at == beat.started_at
        and _bucket(last.at, bounds.spacing) == _bucket(now, bounds.spacing)
    ):
        conn.execute(update(DeviceHeartbeat).where(DeviceHeartbeat.id == last.id).values(row))
        return
    conn.execute(insert(DeviceHeartbeat).values(project_id=project.id, device_id=device_id, **row))
    cutoff = conn.scalar(
        select(DeviceHeartbeat.id)
        .where(*mine)
        .order_by(DeviceHeartbeat.id.desc())
        .offset(bounds.points)
        .limit(1)
    )
    if cutoff is not None:
        conn.execute(delete(DeviceHeartbeat).where(*mine, DeviceHeartbeat.id <= cutoff))


def _columns(row: object, kind: type[Any], *, but: tuple[str, ...] = ()) -> dict[str, Any]:
    """The row's attributes named like the fields of the dataclass ``kind`` (less ``but``)."""
    return {f.name: getattr(row, f.name) for f in fields(kind) if f.name not in but}


def _view(row: Device, now: datetime) -> DeviceView:
    return DeviceView(**_columns(row, DeviceView, but=("state",)), state=device_state(row.last_seen, now))


def list_devices(
    db: Database, project: Project, *, labels: Mapping[str, str] | None = None, now: datetime | None = None
) -> list[DeviceView]:
    """The project's devices by ``device_id``, those carrying every one of ``labels`` when given."""
    now = now or utcnow()
    wanted = dict(labels or {})
    with db.reading() as session:
        rows = session.scalars(
            select(Device).where(Device.project_id == project.id).order_by(Device.device_id)
        )
        return [_view(row, now) for row in rows if matches(wanted, row.labels)]


def get_device(db: Database, project: Project, device_id: str, *, now: datetime | None = None) -> DeviceView:
    """One device (`NotFound` ``device_not_found`` if it never sent a heartbeat to this project)."""
    with db.reading() as session:
        row = session.get(Device, (project.id, device_id))
    if row is None:
        raise NotFound("device_not_found", f"no device {device_id!r} in project {project.slug!r}")
    return _view(row, now or utcnow())


def _point(row: DeviceHeartbeat) -> HistoryPoint:
    return HistoryPoint(**_columns(row, HistoryPoint))


def fleet_history(
    db: Database, project: Project, *, device_id: str | None = None, since: datetime | None = None
) -> dict[str, list[HistoryPoint]]:
    """Each device's history points (oldest first) since ``since``; one device's with ``device_id``."""
    query = select(DeviceHeartbeat).where(DeviceHeartbeat.project_id == project.id)
    if device_id is not None:
        query = query.where(DeviceHeartbeat.device_id == device_id)
    if since is not None:
        query = query.where(DeviceHeartbeat.at >= since)
    history: dict[str, list[HistoryPoint]] = {}
    with db.reading() as session:
        for row in session.scalars(query.order_by(DeviceHeartbeat.device_id, DeviceHeartbeat.id)):
            history.setdefault(row.device_id, []).append(_point(row))
    return history


def device_history(db: Database, project: Project, device_id: str) -> list[HistoryPoint]:
    """One device's history points, oldest first (empty for an unknown device)."""
    return fleet_history(db, project, device_id=device_id).get(device_id, [])
