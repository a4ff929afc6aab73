"""The spool on its own: durable writes, acknowledgement, eviction policy, crash repair."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from framescout.collector import Spool, SpoolFull


def test_put_due_done_and_retry(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", cap_bytes=10_000)
    first, evicted = spool.put(b"a" * 100, {"k": 1}, rule="low")
    second, _ = spool.put(b"b" * 100, {"k": 2}, rule="low")
    assert evicted == [] and len(spool) == 2
    due = spool.due()
    assert [e.id for e in due] == [first, second] and due[0].meta == {"k": 1}
    assert spool.read(due[0]) == b"a" * 100
    spool.retry_later(first, 60)
    assert [e.id for e in spool.due()] == [second]
    assert (spool.next_due_in() or 0) > 0 or spool.due()
    spool.done(second)
    assert len(spool) == 1 and spool.stats()["bytes"] == 100
    assert sorted(p.name for p in (tmp_path / "s" / "frames").iterdir()) == [f"{first}.jpg"]


def test_eviction_takes_low_priority_oldest_first(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", cap_bytes=300)
    old_random, _ = spool.put(b"r" * 100, {}, rule="random", priority=0)
    hard_case, _ = spool.put(b"c" * 100, {}, rule="low-confidence", priority=1)
    new_random, _ = spool.put(b"r" * 100, {}, rule="random", priority=0)
    _, evicted = spool.put(b"c" * 100, {}, rule="low-confidence", priority=1)
    assert [(e.id, e.rule) for e in evicted] == [(old_random, "random")]
    _, evicted = spool.put(b"c" * 150, {}, rule="low-confidence", priority=1)
    assert [e.id for e in evicted] == [new_random, hard_case]  # randoms first, then the oldest hard case
    with pytest.raises(SpoolFull, match="larger than the spool cap"):
        spool.put(b"x" * 301, {}, rule="low")


def test_crash_leftovers_are_repaired_on_open(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s")
    kept, _ = spool.put(b"k" * 10, {}, rule="low")
    lost, _ = spool.put(b"l" * 10, {}, rule="random")
    spool.close()
    frames = tmp_path / "s" / "frames"
    (frames / f"{lost}.jpg").unlink()  # a row whose file vanished
    (frames / "deadbeef.jpg").write_bytes(b"orphan")  # a file written but never indexed
    (frames / "cafe.jpg.tmp").write_bytes(b"half")  # a write cut short
    again = Spool(tmp_path / "s")
    assert again.recovered_orphans == 2
    assert [(e.id, e.rule) for e in again.recovered_missing] == [(lost, "random")]
    assert [e.id for e in again.due()] == [kept]
    assert sorted(p.name for p in frames.iterdir()) == [f"{kept}.jpg"]
    rows = sqlite3.connect(tmp_path / "s" / "spool.db").execute("SELECT COUNT(*) FROM entries").fetchone()
    assert rows == (1,)
