"""The Devices page's rows, built from the devices list and their heartbeat history: one row per
device with what the table shows (state, last seen, versions, kept per rule and its sparkline, spool
backlog, drops) and its flags; flagged devices first. Pure: plain data in, plain data out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from framescout.server.web.charts import PALETTE, Chart, sparkline_chart
from framescout.server.web.device_flags import DeviceState, Flag, HistoryPoint, age_text, device_flags, steps

SPARK_POINTS = 30
"""Heartbeats the sparkline shows (the latest; the history keeps one a minute)."""
ETAG_CHARS = 8


class ListedDevice(DeviceState, Protocol):
    """A device of the devices list (``GET …/devices``), as the page reads it."""

    @property
    def labels(self) -> Mapping[str, str]: ...
    @property
    def model_version(self) -> str | None: ...
    @property
    def rules_etag(self) -> str | None: ...
    @property
    def software_version(self) -> str | None: ...
    @property
    def counters(self) -> Mapping[str, Any]: ...
    @property
    def spool_entries(self) -> int: ...
    @property
    def spool_bytes(self) -> int: ...


@dataclass(frozen=True)
class DeviceRow:
    """One row of the Devices page: the listed ``device`` and what the page derives from it."""

    device: ListedDevice
    seen_ago: str
    rules_short: str | None
    kept: int
    kept_per_rule: list[tuple[str, int, str]]  # (rule, kept this run, colour)
    sparkline: Chart
    dropped: int
    quarantined: int
    flags: list[Flag]


def etag_short(etag: str | None) -> str | None:
    """The rules version as the page shows it: the ETag without ``W/`` and quotes, cut to 8 characters."""
    if not etag:
        return None
    bare = etag.removeprefix("W/").strip('"')
    return bare[:ETAG_CHARS] or None


def kept_per_rule(counters: Mapping[str, Any]) -> dict[str, int]:
    """``counters["per_rule"][rule]["kept"]`` for every rule that has it (missing or odd values: 0)."""
    per_rule = counters.get("per_rule")
    if not isinstance(per_rule, Mapping):
        return {}
    out = {}
    for rule, counts in per_rule.items():
        value = counts.get("kept") if isinstance(counts, Mapping) else None
        out[str(rule)] = value if isinstance(value, int) and not isinstance(value, bool) else 0
    return out


def _count(counters: Mapping[str, Any], name: str) -> int:
    value = counters.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def rule_colours(
    devices: Sequence[ListedDevice], history: Mapping[str, Sequence[HistoryPoint]]
) -> dict[str, str]:
    """One colour per rule across the fleet (busiest rule first), so a rule looks the same on every row."""
    totals: Counter[str] = Counter()
    for device in devices:
        totals.update(kept_per_rule(device.counters))
        for point in history.get(device.device_id, ()):
            totals.update({rule: 0 for rule in point.kept_per_rule})
    ordered = sorted(totals, key=lambda rule: (-totals[rule], rule))
    return {rule: PALETTE[i % len(PALETTE)] for i, rule in enumerate(ordered)}


def _sparkline(points: Sequence[HistoryPoint], colours: dict[str, str]) -> Chart:
    """Kept frames per rule between consecutive heartbeats, over the latest `SPARK_POINTS`."""
    recent = steps(points)[-SPARK_POINTS:]
    rules = sorted({rule for step in recent for rule in step.kept_per_rule}, key=list(colours).index)
    counts = {rule: [step.kept_per_rule.get(rule, 0) for step in recent] for rule in rules}
    buckets = [step.at.strftime("%H:%M") for step in recent]
    return sparkline_chart(buckets, counts, {rule: colours[rule] for rule in rules})


def device_rows(
    devices: Sequence[ListedDevice], history: Mapping[str, Sequence[HistoryPoint]], now: datetime
) -> list[DeviceRow]:
    """The page's rows: flagged devices first, then the others, each group by device id."""
    colours = rule_colours(devices, history)
    rows = []
    for device in devices:
        points = history.get(device.device_id, ())
        per_rule = kept_per_rule(device.counters)
        rows.append(
            DeviceRow(
                device=device,
                seen_ago=age_text((now - device.last_seen).total_seconds()),
                rules_short=etag_short(device.rules_etag),
                kept=_count(device.counters, "kept"),
                kept_per_rule=[(rule, per_rule[rule], colours[rule]) for rule in colours if rule in per_rule],
                sparkline=_sparkline(points, colours),
                dropped=_count(device.counters, "dropped"),
                quarantined=_count(device.counters, "quarantined"),
                flags=device_flags(device, points, now),
            )
        )
    return sorted(rows, key=lambda row: (not row.flags, row.device.device_id))


def state_counts(rows: Sequence[DeviceRow]) -> dict[str, int]:
    """Devices per state (online, stale, offline) and flagged, for the page's tiles."""
    counts = Counter(row.device.state for row in rows)
    return {
        "online": counts["online"],
        "stale": counts["stale"],
        "offline": counts["offline"],
        "flagged": sum(1 for row in rows if row.flags),
    }
