"""Which devices the Devices page flags at the top, and why: pure functions over a device's latest
state and its heartbeat history (no database, no HTTP), so each rule is tested on plain data.

The issue's three flags:

- **quiet**: the heartbeats stopped (``stale`` or ``offline``) without the final heartbeat a
  collector sends when it stops on purpose;
- **spool growing**: the backlog rose across the recent heartbeats and is at its highest now (uploads
  fall behind: the server is away or refusing, or the link is too slow);
- **nothing detected**: the share of frames in which the model found nothing jumped in the recent
  heartbeats against the device's earlier share (the guide's "the model runs but doesn't detect
  anything": a covered lens, a camera knocked towards a wall, a broken model file).

A history point holds a run's totals; totals restart with each run (``started_at``), so the frames
seen between two points are their difference within a run, and a run's first point counts whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

RECENT = timedelta(minutes=10)
"""What "recent heartbeats" means: the points less than ten minutes older than the latest one."""
SPOOL_GROWTH = 20
"""Frames the backlog must have grown by, across the recent heartbeats, to be flagged."""
SPOOL_MIN_POINTS = 3
"""Recent heartbeats needed to call a backlog growing (one rise between two is not a trend)."""
NOTHING_MIN_FRAMES = 50
"""Frames needed on each side (recent, earlier) before their "nothing detected" shares are compared."""
NOTHING_JUMP = 0.25
"""A rise of the "nothing detected" share by this much (25 percentage points) is flagged."""
QUIET_STATES = ("stale", "offline")


class DeviceState(Protocol):
    """What the flags read of a device (the devices list's fields; ``stopped``: its last heartbeat
    said the collector was stopping)."""

    @property
    def device_id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def last_seen(self) -> datetime: ...
    @property
    def stopped(self) -> bool: ...


class HistoryPoint(Protocol):
    """One heartbeat of a device's bounded history: its run's totals at ``at``."""

    @property
    def at(self) -> datetime: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def seen(self) -> int: ...
    @property
    def nothing_detected(self) -> int: ...
    @property
    def spool_entries(self) -> int: ...
    @property
    def kept_per_rule(self) -> Mapping[str, int]: ...


@dataclass(frozen=True)
class Flag:
    """Why a device is listed at the top: ``kind`` (``quiet``, ``spool``, ``nothing_detected``) and
    a sentence for the page."""

    kind: str
    message: str


@dataclass(frozen=True)
class Step:
    """What a device did between the previous history point of its run and ``at``."""

    at: datetime
    seen: int
    nothing_detected: int
    kept_per_rule: dict[str, int]


def steps(points: Sequence[HistoryPoint]) -> list[Step]:
    """Each point's increments over the previous point of the same run (a run's first point, or the
    first one still kept, counts its totals whole). Totals never go down within a run; a smaller
    value (a counter the device reset) counts as zero, not as a negative."""
    out: list[Step] = []
    previous: HistoryPoint | None = None
    for point in points:
        base = previous if previous is not None and previous.started_at == point.started_at else None
        rules = {
            rule: max(n - (base.kept_per_rule.get(rule, 0) if base else 0), 0)
            for rule, n in point.kept_per_rule.items()
        }
        out.append(
            Step(
                point.at,
                max(point.seen - (base.seen if base else 0), 0),
                max(point.nothing_detected - (base.nothing_detected if base else 0), 0),
                rules,
            )
        )
        previous = point
    return out


def age_text(seconds: float) -> str:
    """A duration as the page shows it: ``45 s`` (up to two minutes: ``90 s``, not ``1 min``),
    ``12 min``, ``3 h``, ``2 d``."""
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= max(size, 120):
            return f"{int(seconds // size)} {unit}"
    return f"{max(int(seconds), 0)} s"


def went_quiet(device: DeviceState, now: datetime) -> Flag | None:
    """Flag a device whose heartbeats stopped without its collector saying it was stopping."""
    if device.state not in QUIET_STATES or device.stopped:
        return None
    silent = age_text((now - device.last_seen).total_seconds())
    return Flag("quiet", f"{device.state}: no heartbeat for {silent}")


def spool_growing(
    points: Sequence[HistoryPoint], *, recent: timedelta = RECENT, growth: int = SPOOL_GROWTH
) -> Flag | None:
    """Flag a backlog that grew by ``growth`` frames or more across the recent heartbeats and is at
    its highest in the latest one (a backlog that is draining again is not flagged)."""
    if not points:
        return None
    window = [p.spool_entries for p in points if p.at > points[-1].at - recent]
    if len(window) < SPOOL_MIN_POINTS or window[-1] - window[0] < growth or window[-1] < max(window):
        return None
    return Flag(
        "spool",
        f"spool backlog up from {window[0]} to {window[-1]} frames over the last {len(window)} heartbeats",
    )


def nothing_detected_jump(
    points: Sequence[HistoryPoint],
    *,
    recent: timedelta = RECENT,
    jump: float = NOTHING_JUMP,
    min_frames: int = NOTHING_MIN_FRAMES,
) -> Flag | None:
    """Flag a device whose share of frames with nothing detected rose by ``jump`` or more in the
    recent heartbeats against all its earlier ones (each side needs ``min_frames`` frames)."""
    if not points:
        return None
    cut = points[-1].at - recent
    now_seen = now_nothing = before_seen = before_nothing = 0
    for step in steps(points):
        if step.at > cut:
            now_seen, now_nothing = now_seen + step.seen, now_nothing + step.nothing_detected
        else:
            before_seen, before_nothing = before_seen + step.seen, before_nothing + step.nothing_detected
    if now_seen < min_frames or before_seen < min_frames:
        return None
    share, earlier = now_nothing / now_seen, before_nothing / before_seen
    if share - earlier < jump:
        return None
    return Flag(
        "nothing_detected",
        f"nothing detected in {share:.0%} of its recent frames, against {earlier:.0%} before",
    )


def device_flags(device: DeviceState, points: Sequence[HistoryPoint], now: datetime) -> list[Flag]:
    """Every flag that applies to ``device``, in the page's order: quiet, spool, nothing detected."""
    found = (went_quiet(device, now), spool_growing(points), nothing_detected_jump(points))
    return [flag for flag in found if flag is not None]
