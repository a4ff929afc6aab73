"""The durable on-disk spool: kept frames wait here until the server has confirmed them.

Design (crash-safe by ordering, not by luck):
- a frame's JPEG is written to ``frames/<uuid>.jpg.tmp``, fsynced, renamed to ``frames/<uuid>.jpg``,
  and only then is its row inserted in ``spool.db`` (SQLite, WAL, synchronous=FULL) — so every row
  has a complete file;
- an entry is deleted (row, then file) only after the server confirmed it (new or duplicate);
- on open, leftovers of a crash are repaired: temp files and files without a row are removed
  (their frame was never acknowledged to anyone), rows without a file are dropped and counted.

Quarantine: a frame the server refused (413, 415, 422, ...) moves to ``quarantine/<uuid>.jpg`` with
the server's status, code and message. A move (either way) first moves the row between the
``entries`` and ``quarantine`` tables in one transaction, then renames the file; on open, a file
found in the other folder follows its row, so a crash between the two loses nothing. Quarantined
frames count toward ``cap_bytes`` but are never evicted: when they alone fill the cap, new frames are
refused as ``quarantine_full`` (counted) until ``framescout spool quarantine retry|drop``.

Eviction: when a new frame would push the spool over ``cap_bytes``, entries are evicted lowest
priority first, oldest first (random/quota frames go before confidence-rule frames); every eviction
is returned to the caller, who counts it. A frame larger than the whole cap is refused.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framescout.collector.record import FrameRecord

_FRAME = """
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    rule TEXT NOT NULL,
    priority INTEGER NOT NULL,
    size INTEGER NOT NULL,
    meta TEXT NOT NULL,"""
"""The columns a frame keeps whether queued or quarantined (`_QUEUE_COLUMNS` moves it between the two)."""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS entries ({_FRAME}
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entries_due ON entries (next_try, created);
CREATE INDEX IF NOT EXISTS entries_eviction ON entries (priority, created);
CREATE TABLE IF NOT EXISTS quarantine ({_FRAME}
    attempts INTEGER NOT NULL,
    quarantined_at REAL NOT NULL,
    status INTEGER NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL
);
"""

_QUEUE_COLUMNS = "id, created, rule, priority, size, meta, attempts"


class SpoolFull(OSError):
    """The spool cannot take this frame; ``reason`` is the counter it is dropped under:
    ``spool_full`` (bigger than the cap), ``quarantine_full`` (quarantined frames fill the cap) or
    ``disk_full``."""

    reason = "spool_full"


def _full(err: int, message: str, reason: str) -> SpoolFull:
    exc = SpoolFull(err, message)
    exc.reason = reason
    return exc


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX: the directory entry lives in the directory)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _follow(source: Path, target: Path) -> None:
    """Rename a frame's file after its row moved; already there (an earlier move cut short) is fine."""
    if source.exists() or not target.exists():
        os.replace(source, target)


class _Recorded:
    """What queued and quarantined entries share: the rule and the metadata, read as a record."""

    rule: str
    meta: dict[str, Any]

    @property
    def record(self) -> FrameRecord:
        """``meta`` read as the collector's typed record (tolerant of every release's spool)."""
        return FrameRecord.from_json(self.meta, rule=self.rule)


@dataclass(frozen=True)
class Entry(_Recorded):
    """One spooled frame: its id, rule, metadata (predictions, tags, ...) and retry state."""

    id: str
    created: float
    rule: str
    priority: int
    size: int
    meta: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Quarantined(_Recorded):
    """A frame the server refused, kept with its reason: HTTP ``status``, error ``code``, ``message``."""

    id: str
    created: float
    rule: str
    size: int
    meta: dict[str, Any]
    quarantined_at: float
    status: int
    code: str
    message: str


@dataclass(frozen=True)
class Evicted:
    """An entry removed to make room, and for which rule (for the counters)."""

    id: str
    rule: str


class Spool:
    """A folder holding frames waiting for upload; safe to share between threads of one process."""

    def __init__(self, folder: str | Path, cap_bytes: int = 1 << 30) -> None:
        self.folder = Path(folder)
        self.frames = self.folder / "frames"
        self.frames.mkdir(parents=True, exist_ok=True)
        self.held = self.folder / "quarantine"
        self.held.mkdir(exist_ok=True)
        self.cap_bytes = cap_bytes
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.folder / "spool.db", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self.recovered_orphans, self.recovered_missing = self._recover()

    # ------------------------------------------------------------------ crash recovery
    def _recover(self) -> tuple[int, list[Evicted]]:
        with self._lock:
            queued = {r[0]: r[1] for r in self._db.execute("SELECT id, rule FROM entries")}
            held = {r[0]: r[1] for r in self._db.execute("SELECT id, rule FROM quarantine")}
            # A move between queue and quarantine commits the row first: the file follows its row.
            for ids, home, other in ((queued, self.frames, self.held), (held, self.held, self.frames)):
                for entry_id in ids:
                    stray = other / f"{entry_id}.jpg"
                    if stray.exists() and not (home / f"{entry_id}.jpg").exists():
                        os.replace(stray, home / stray.name)
            orphans = 0
            for ids, folder in ((queued, self.frames), (held, self.held)):
                for path in folder.iterdir():
                    entry_id = path.name.split(".", 1)[0]
                    if path.name.endswith(".tmp") or entry_id not in ids:
                        path.unlink(missing_ok=True)
                        orphans += 1
            missing = [Evicted(i, rule) for i, rule in queued.items() if not self._path(i).exists()]
            lost = [Evicted(i, rule) for i, rule in held.items() if not self._held_path(i).exists()]
            with self._transaction():
                for gone in missing:
                    self._db.execute("DELETE FROM entries WHERE id = ?", (gone.id,))
                for gone in lost:
                    self._db.execute("DELETE FROM quarantine WHERE id = ?", (gone.id,))
        return orphans, missing + lost

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _path(self, entry_id: str) -> Path:
        return self.frames / f"{entry_id}.jpg"

    def _held_path(self, entry_id: str) -> Path:
        return self.held / f"{entry_id}.jpg"

    # ------------------------------------------------------------------ writing
    def put(
        self, jpeg: bytes, meta: dict[str, Any], *, rule: str, priority: int = 0
    ) -> tuple[str, list[Evicted]]:
        """Store a frame durably; returns its id and the entries evicted to make room."""
        size = len(jpeg)
        if size > self.cap_bytes:
            raise _full(
                errno.EFBIG,
                f"a {size:,}-byte frame is larger than the spool cap ({self.cap_bytes:,})",
                "spool_full",
            )
        entry_id = uuid.uuid4().hex
        with self._lock:
            evicted = self._make_room(size)
            final = self._path(entry_id)
            tmp = final.with_name(final.name + ".tmp")
            try:
                with open(tmp, "wb") as handle:
                    handle.write(jpeg)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, final)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise _full(exc.errno, f"the disk under {self.folder} is full", "disk_full") from None
                raise
            try:
                with self._transaction():
                    self._db.execute(
                        "INSERT INTO entries (id, created, rule, priority, size, meta) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (entry_id, time.time(), rule, priority, size, json.dumps(meta)),
                    )
            except sqlite3.OperationalError as exc:
                final.unlink(missing_ok=True)
                raise _full(errno.ENOSPC, f"the spool index cannot be written: {exc}", "disk_full") from None
        return entry_id, evicted

    def _make_room(self, size: int) -> list[Evicted]:
        """Evict queued frames (never quarantined ones) until ``size`` more bytes fit under the cap."""
        used = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
        held = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM quarantine").fetchone()[0]
        evicted: list[Evicted] = []
        if held + size > self.cap_bytes:
            raise _full(
                errno.ENOSPC,
                f"quarantined frames ({held:,} bytes) fill the spool cap ({self.cap_bytes:,}); "
                "see `framescout spool quarantine list`",
                "quarantine_full",
            )
        used += held
        if used + size <= self.cap_bytes:
            return evicted
        for entry_id, rule, entry_size in self._db.execute(
            "SELECT id, rule, size FROM entries ORDER BY priority ASC, created ASC"
        ).fetchall():
            self._delete(entry_id)
            evicted.append(Evicted(entry_id, rule))
            used -= entry_size
            if used + size <= self.cap_bytes:
                break
        return evicted

    def _delete(self, entry_id: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
        self._path(entry_id).unlink(missing_ok=True)

    # ------------------------------------------------------------------ reading and acknowledging
    def due(self, limit: int = 16, now: float | None = None) -> list[Entry]:
        """Entries whose next attempt is due, oldest first."""
        now = time.time() if now is None else now
        with self._lock:
            rows = self._db.execute(
                "SELECT id, created, rule, priority, size, meta, attempts FROM entries "
                "WHERE next_try <= ? ORDER BY created LIMIT ?",
                (now, limit),
            ).fetchall()
        return [Entry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows]

    def read(self, entry: Entry) -> bytes:
        return self._path(entry.id).read_bytes()

    def done(self, entry_id: str) -> None:
        """The server confirmed this frame: forget it."""
        with self._lock:
            self._delete(entry_id)

    def retry_later(self, entry_id: str, delay: float) -> None:
        with self._lock, self._transaction():
            self._db.execute(
                "UPDATE entries SET attempts = attempts + 1, next_try = ? WHERE id = ?",
                (time.time() + delay, entry_id),
            )

    def next_due_in(self) -> float | None:
        """Seconds until the earliest entry is due (0 if one is due now), ``None`` when empty."""
        with self._lock:
            row = self._db.execute("SELECT MIN(next_try) FROM entries").fetchone()
        return None if row[0] is None else max(0.0, row[0] - time.time())

    def stats(self) -> dict[str, int]:
        """Queued ``entries`` and ``bytes``, the cap, and the ``quarantined`` frames and their bytes."""
        with self._lock:
            count, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries").fetchone()
            held, held_size = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM quarantine"
            ).fetchone()
        return {
            "entries": int(count),
            "bytes": int(size),
            "cap_bytes": self.cap_bytes,
            "quarantined": int(held),
            "quarantined_bytes": int(held_size),
        }

    # ------------------------------------------------------------------ quarantine
    def quarantine(self, entry_id: str, status: int, code: str, message: str) -> bool:
        """Move a queued frame to the quarantine with the server's reason; ``False`` if it is gone."""
        with self._lock:
            with self._transaction():
                moved = self._db.execute(
                    f"INSERT INTO quarantine ({_QUEUE_COLUMNS}, quarantined_at, status, code, message) "
                    f"SELECT {_QUEUE_COLUMNS}, ?, ?, ?, ? FROM entries WHERE id = ?",
                    (time.time(), status, code, message[:2000], entry_id),
                ).rowcount
                self._db.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
            if moved:
                _follow(self._path(entry_id), self._held_path(entry_id))
                _fsync_dir(self.held)
        return bool(moved)

    def quarantined(self) -> list[Quarantined]:
        """Every quarantined frame, oldest quarantine first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, created, rule, size, meta, quarantined_at, status, code, message "
                "FROM quarantine ORDER BY quarantined_at, id"
            ).fetchall()
        return [Quarantined(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7], r[8]) for r in rows]

    def read_quarantined(self, entry_id: str) -> bytes:
        return self._held_path(entry_id).read_bytes()

    def _select_held(self, ids: list[str] | None) -> list[str]:
        known = [r[0] for r in self._db.execute("SELECT id FROM quarantine ORDER BY quarantined_at, id")]
        return known if ids is None else [i for i in known if i in set(ids)]

    def restore(self, ids: list[str] | None = None) -> int:
        """Move quarantined frames (all, or those ``ids``) back into the queue, due now; the count."""
        with self._lock:
            chosen = self._select_held(ids)
            with self._transaction():
                for entry_id in chosen:
                    self._db.execute(
                        f"INSERT INTO entries ({_QUEUE_COLUMNS}, next_try) "
                        f"SELECT {_QUEUE_COLUMNS}, 0 FROM quarantine WHERE id = ?",
                        (entry_id,),
                    )
                    self._db.execute("DELETE FROM quarantine WHERE id = ?", (entry_id,))
            for entry_id in chosen:
                _follow(self._held_path(entry_id), self._path(entry_id))
            if chosen:
                _fsync_dir(self.frames)
        return len(chosen)

    def drop_quarantined(self, ids: list[str] | None = None) -> int:
        """Delete quarantined frames (all, or those ``ids``) for good; the count."""
        with self._lock:
            chosen = self._select_held(ids)
            with self._transaction():
                for entry_id in chosen:
                    self._db.execute("DELETE FROM quarantine WHERE id = ?", (entry_id,))
            for entry_id in chosen:
                self._held_path(entry_id).unlink(missing_ok=True)
        return len(chosen)

    def __len__(self) -> int:
        return self.stats()["entries"]

    def close(self) -> None:
        with self._lock:
            self._db.close()
