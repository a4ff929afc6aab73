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


def test_quarantine_keeps_the_frame_and_the_reason_then_restore_or_drop(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s")
    bad, _ = spool.put(b"b" * 10, {"name": "bad"}, rule="low")
    other, _ = spool.put(b"o" * 20, {"name": "other"}, rule="low")
    assert spool.quarantine(bad, 422, "unknown_class", "class 'zebra' is not in the project")
    assert not spool.quarantine("no-such-id", 422, "x", "y")
    assert [e.id for e in spool.due()] == [other]
    assert spool.stats() == {
        "entries": 1,
        "bytes": 20,
        "cap_bytes": spool.cap_bytes,
        "quarantined": 1,
        "quarantined_bytes": 10,
    }
    (held,) = spool.quarantined()
    assert (held.id, held.rule, held.status, held.code, held.meta) == (
        bad,
        "low",
        422,
        "unknown_class",
        {"name": "bad"},
    )
    assert spool.read_quarantined(bad) == b"b" * 10
    assert not (tmp_path / "s" / "frames" / f"{bad}.jpg").exists()
    assert spool.restore() == 1
    assert [e.id for e in spool.due()] == [bad, other] and spool.read(spool.due()[0]) == b"b" * 10
    spool.quarantine(bad, 413, "too_large", "too big")
    spool.quarantine(other, 413, "too_large", "too big")
    assert spool.drop_quarantined([other]) == 1
    assert [q.id for q in spool.quarantined()] == [bad]
    assert spool.drop_quarantined() == 1 and spool.stats()["quarantined"] == 0
    assert list((tmp_path / "s" / "quarantine").iterdir()) == [] and len(spool) == 0


def test_quarantine_counts_toward_the_cap_but_is_never_evicted(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", cap_bytes=300)
    held, _ = spool.put(b"h" * 200, {}, rule="low", priority=1)
    spool.quarantine(held, 413, "too_large", "x")
    queued, _ = spool.put(b"r" * 100, {}, rule="random", priority=0)
    _, evicted = spool.put(b"c" * 100, {}, rule="low", priority=1)
    assert [e.id for e in evicted] == [queued]  # the queued frame goes, the quarantined one stays
    with pytest.raises(SpoolFull) as refused:
        spool.put(b"c" * 101, {}, rule="low", priority=1)
    assert refused.value.reason == "quarantine_full" and "spool quarantine list" in str(refused.value)
    assert [q.id for q in spool.quarantined()] == [held] and len(spool) == 1  # nothing evicted for it


def test_a_quarantine_move_cut_short_by_a_crash_is_finished_on_open(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s")
    to_held, _ = spool.put(b"q" * 10, {}, rule="low")
    to_queue, _ = spool.put(b"r" * 10, {}, rule="low")
    spool.quarantine(to_queue, 422, "bad", "bad")
    spool.close()
    db = sqlite3.connect(tmp_path / "s" / "spool.db", isolation_level=None)
    # the rows moved (committed), the process died before the renames:
    db.execute(
        "INSERT INTO quarantine SELECT id, created, rule, priority, size, meta, attempts, 1.0, 413, "
        "'too_large', 'big' FROM entries WHERE id = ?",
        (to_held,),
    )
    db.execute("DELETE FROM entries WHERE id = ?", (to_held,))
    db.execute(
        "INSERT INTO entries (id, created, rule, priority, size, meta, attempts) "
        "SELECT id, created, rule, priority, size, meta, attempts FROM quarantine WHERE id = ?",
        (to_queue,),
    )
    db.execute("DELETE FROM quarantine WHERE id = ?", (to_queue,))
    db.close()
    (tmp_path / "s" / "quarantine" / "0rphan.jpg").write_bytes(b"dropped, not yet unlinked")
    again = Spool(tmp_path / "s")
    assert again.recovered_missing == [] and again.recovered_orphans == 1
    assert [q.id for q in again.quarantined()] == [to_held] and again.read_quarantined(to_held) == b"q" * 10
    assert [e.id for e in again.due()] == [to_queue] and again.read(again.due()[0]) == b"r" * 10
    assert sorted(p.name for p in (tmp_path / "s" / "quarantine").iterdir()) == [f"{to_held}.jpg"]


def test_a_spool_from_before_the_quarantine_opens_unchanged(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    (folder / "frames").mkdir(parents=True)
    db = sqlite3.connect(folder / "spool.db")
    db.executescript(
        "CREATE TABLE entries (id TEXT PRIMARY KEY, created REAL NOT NULL, rule TEXT NOT NULL, "
        "priority INTEGER NOT NULL, size INTEGER NOT NULL, meta TEXT NOT NULL, "
        "attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL DEFAULT 0);"
        "INSERT INTO entries (id, created, rule, priority, size, meta) VALUES ('abc', 1, 'low', 1, 3, '{}');"
    )
    db.commit()
    db.close()
    (folder / "frames" / "abc.jpg").write_bytes(b"jpg")
    spool = Spool(folder)
    assert [e.id for e in spool.due()] == ["abc"] and spool.stats()["quarantined"] == 0
