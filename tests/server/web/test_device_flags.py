"""The Devices page's flags and rows over plain data: quiet devices, growing spools, a jump of the
"nothing detected" share (across runs whose totals restart), and the rows' order and contents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from framescout.server.web.device_flags import (
    age_text,
    device_flags,
    nothing_detected_jump,
    spool_growing,
    steps,
    went_quiet,
)
from framescout.server.web.device_rows import device_rows, etag_short, kept_per_rule, state_counts

NOW = datetime(2026, 12, 1, 15, 0)
RUN = datetime(2026, 12, 1, 13, 0)


@dataclass(frozen=True)
class Device:
    device_id: str
    state: str = "online"
    last_seen: datetime = NOW - timedelta(seconds=20)
    stopped: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    model_version: str | None = "3"
    rules_etag: str | None = None
    software_version: str | None = "0.9.0"
    counters: dict[str, Any] = field(default_factory=dict)
    spool_entries: int = 0
    spool_bytes: int = 0


@dataclass(frozen=True)
class Point:
    at: datetime
    seen: int = 0
    nothing_detected: int = 0
    spool_entries: int = 0
    kept_per_rule: dict[str, int] = field(default_factory=dict)
    started_at: datetime | None = RUN


def minutes(
    n: int,
    *,
    seen: int = 100,
    nothing: float = 0.1,
    spool: list[int] | None = None,
    end: datetime = NOW,
    start: datetime | None = RUN,
) -> list[Point]:
    """``n`` one-a-minute points ending at ``end``, ``seen`` frames a minute, a share ``nothing`` of them
    with nothing detected; cumulative like a run's totals."""
    points = []
    for i in range(n):
        at = end - timedelta(minutes=n - 1 - i)
        backlog = spool[i] if spool else 0
        points.append(Point(at, seen * (i + 1), round(seen * nothing * (i + 1)), backlog, started_at=start))
    return points


def test_steps_are_differences_within_a_run_and_whole_at_a_restart() -> None:
    first = Point(NOW - timedelta(minutes=3), 100, 10, kept_per_rule={"low": 4})
    second = Point(NOW - timedelta(minutes=2), 160, 20, kept_per_rule={"low": 6, "random": 1})
    restarted = Point(NOW - timedelta(minutes=1), 30, 25, kept_per_rule={"low": 2}, started_at=NOW)
    reset = Point(NOW, 10, 0, kept_per_rule={"low": 1}, started_at=NOW)  # a counter went down: zero
    assert [
        (s.seen, s.nothing_detected, s.kept_per_rule) for s in steps([first, second, restarted, reset])
    ] == [
        (100, 10, {"low": 4}),
        (60, 10, {"low": 2, "random": 1}),
        (30, 25, {"low": 2}),
        (0, 0, {"low": 0}),
    ]


def test_a_device_is_quiet_when_stale_or_offline_unless_it_said_it_was_stopping() -> None:
    assert went_quiet(Device("a"), NOW) is None
    stale = went_quiet(Device("a", "stale", NOW - timedelta(minutes=4)), NOW)
    assert stale is not None and (stale.kind, stale.message) == ("quiet", "stale: no heartbeat for 4 min")
    offline = went_quiet(Device("a", "offline", NOW - timedelta(hours=26)), NOW)
    assert offline is not None and offline.message == "offline: no heartbeat for 1 d"
    assert went_quiet(Device("a", "offline", NOW - timedelta(hours=3), stopped=True), NOW) is None
    assert [age_text(s) for s in (0, 59, 90, 120, 3599, 7200, 90_000)] == [
        "0 s",
        "59 s",
        "90 s",
        "2 min",
        "59 min",
        "2 h",
        "1 d",
    ]


def test_a_spool_is_growing_when_it_rose_across_recent_heartbeats_and_is_at_its_highest() -> None:
    rising = spool_growing(minutes(6, spool=[0, 5, 12, 20, 31, 40]))
    assert rising is not None and rising.kind == "spool"
    assert rising.message == "spool backlog up from 0 to 40 frames over the last 6 heartbeats"
    assert spool_growing(minutes(6, spool=[0, 5, 12, 20, 31, 15])) is None  # draining again
    assert spool_growing(minutes(6, spool=[30, 31, 33, 35, 38, 40])) is None  # up by 10 < 20
    assert spool_growing(minutes(2, spool=[0, 90])) is None  # two heartbeats are not a trend
    # Only the last ten minutes count: an old climb followed by a flat backlog is not flagged.
    old = minutes(20, spool=[i * 10 for i in range(9)] + [90] * 11)
    assert spool_growing(old) is None
    assert spool_growing([]) is None


def test_a_jump_of_the_nothing_detected_share_is_flagged() -> None:
    before = minutes(30, nothing=0.1, end=NOW - timedelta(minutes=10))
    last = before[-1]
    after = [  # the lens is covered: 95 of each 100 frames show nothing
        Point(NOW - timedelta(minutes=9 - i), last.seen + 100 * (i + 1), last.nothing_detected + 95 * (i + 1))
        for i in range(10)
    ]
    flag = nothing_detected_jump(before + after)
    assert flag is not None and flag.kind == "nothing_detected"
    assert flag.message == "nothing detected in 95% of its recent frames, against 10% before"
    assert nothing_detected_jump(minutes(40, nothing=0.1)) is None  # steady: no jump
    assert nothing_detected_jump(minutes(40, nothing=0.9)) is None  # always empty is not a jump
    # too few frames before (39 < 50): nothing is compared
    assert nothing_detected_jump(minutes(40, seen=1, nothing=0.1)[:-1] + after[-1:]) is None
    assert nothing_detected_jump([]) is None


def test_the_jump_is_found_across_a_restart() -> None:
    """The collector restarted (its totals start again from zero) with a model that finds nothing."""
    before = minutes(30, nothing=0.05, end=NOW - timedelta(minutes=12))
    after = minutes(10, nothing=0.6, start=NOW - timedelta(minutes=10))
    flag = nothing_detected_jump(before + after)
    assert flag is not None and "60% of its recent frames, against 5% before" in flag.message


def test_rows_put_flagged_devices_first_with_their_figures() -> None:
    etag = 'W/"9f86d081884c7d659a2feaa0c55ad015"'
    counters = {
        "kept": 9,
        "dropped": 2,
        "quarantined": 1,
        "per_rule": {"low": {"kept": 7}, "random": {"kept": 2}},
    }
    history = {
        "cam-a": [
            Point(NOW - timedelta(minutes=2), 10, kept_per_rule={"low": 3}),
            Point(NOW - timedelta(minutes=1), 20, kept_per_rule={"low": 5, "random": 2}),
            Point(NOW, 30, kept_per_rule={"low": 7, "random": 2}),
        ],
        "cam-z": minutes(6, spool=[0, 10, 20, 30, 40, 50]),
    }
    devices = [
        Device("cam-a", rules_etag=etag, counters=counters, labels={"site": "gate"}, spool_entries=3),
        Device("cam-b", "offline", NOW - timedelta(hours=2)),
        Device("cam-c", "offline", NOW - timedelta(hours=2), stopped=True),
        Device("cam-z", spool_entries=50),
    ]
    rows = device_rows(devices, history, NOW)
    assert [(r.device.device_id, [f.kind for f in r.flags]) for r in rows] == [
        ("cam-b", ["quiet"]),
        ("cam-z", ["spool"]),
        ("cam-a", []),
        ("cam-c", []),
    ]
    a = rows[2]
    assert (a.rules_short, a.kept, a.dropped, a.quarantined, a.device.spool_entries) == (
        "9f86d081",
        9,
        2,
        1,
        3,
    )
    assert (a.seen_ago, a.device.labels, a.device.model_version) == ("20 s", {"site": "gate"}, "3")
    assert [(rule, n) for rule, n, _ in a.kept_per_rule] == [("low", 7), ("random", 2)]
    assert not a.sparkline.empty
    assert sorted(b.title for b in a.sparkline.bars) == [
        "14:58: 3 kept by low",
        "14:59: 2 kept by low",
        "14:59: 2 kept by random",
        "15:00: 2 kept by low",
    ]
    colours = {rule: colour for rule, _, colour in a.kept_per_rule}
    assert len(set(colours.values())) == 2  # the sparkline draws each rule in its table colour
    assert {(b.title.rsplit(" ", 1)[1], b.colour) for b in a.sparkline.bars} == set(colours.items())
    assert rows[0].sparkline.empty and rows[0].kept_per_rule == []
    assert state_counts(rows) == {"online": 2, "stale": 0, "offline": 2, "flagged": 2}


def test_odd_counters_and_etags_are_read_safely() -> None:
    assert etag_short(None) is None and etag_short('""') is None and etag_short('"abc"') == "abc"
    assert kept_per_rule({}) == {} and kept_per_rule({"per_rule": [1, 2]}) == {}
    assert kept_per_rule(
        {"per_rule": {"a": {"kept": "7"}, "b": 3, "c": {"kept": True}, "d": {"kept": 4}}}
    ) == {
        "a": 0,
        "b": 0,
        "c": 0,
        "d": 4,
    }
    flags = device_flags(
        Device("a", "stale", NOW - timedelta(minutes=5)), minutes(6, spool=[0, 9, 18, 27, 36, 45]), NOW
    )
    assert [f.kind for f in flags] == ["quiet", "spool"]
