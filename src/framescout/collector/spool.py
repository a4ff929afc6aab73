"""The durable on-disk spool: kept frames wait here until the server has confirmed them.

Design (crash-safe by ordering, not by luck):
- a frame's JPEG is written to ``frames/<uuid>.jpg.tmp``, fsynced, renamed to ``frames/<uuid>.jpg``,
  and only then is its row inserted in ``spool.db`` (SQLite, WAL, synchronous=FULL) — so every row
  has a complete file;
- an entry is deleted (row, then file) only after the server confirmed it (new or duplicate);
- on open, leftovers of a crash are repaired: temp files and files without a row are removed
  (their frame was never acknowledged to anyone), rows without a file are dropped and counted.

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

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    rule TEXT NOT NULL,
    priority INTEGER NOT NULL,
    size INTEGER NOT NULL,
    meta TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entries_due ON entries (next_try, created);
CREATE INDEX IF NOT EXISTS entries_eviction ON entries (priority, created);
"""


class SpoolFull(OSError):
    """The spool cannot take this frame (bigger than the cap, or the disk is full)."""


@dataclass(frozen=True)
class Entry:
    """One spooled frame: its id, rule, metadata (predictions, tags, ...) and retry state."""

    id: str
    created: float
    rule: str
    priority: int
    size: int
    meta: dict[str, Any]
    attempts: int


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
            rows = {r[0]: r[1] for r in self._db.execute("SELECT id, rule FROM entries")}
            orphans = 0
            for path in self.frames.iterdir():
                entry_id = path.name.split(".", 1)[0]
                if path.name.endswith(".tmp") or entry_id not in rows:
                    path.unlink(missing_ok=True)
                    orphans += 1
            missing = [Evicted(i, rule) for i, rule in rows.items() if not self._path(i).exists()]
            with self._transaction():
                for gone in missing:
                    self._db.execute("DELETE FROM entries WHERE id = ?", (gone.id,))
        return orphans, missing

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

    # ------------------------------------------------------------------ writing
    def put(
        self, jpeg: bytes, meta: dict[str, Any], *, rule: str, priority: int = 0
    ) -> tuple[str, list[Evicted]]:
        """Store a frame durably; returns its id and the entries evicted to make room."""
        size = len(jpeg)
        if size > self.cap_bytes:
            raise SpoolFull(
                errno.EFBIG, f"a {size:,}-byte frame is larger than the spool cap ({self.cap_bytes:,})"
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
                    raise SpoolFull(exc.errno, f"the disk under {self.folder} is full") from None
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
                raise SpoolFull(errno.ENOSPC, f"the spool index cannot be written: {exc}") from None
        return entry_id, evicted

    def _make_room(self, size: int) -> list[Evicted]:
        used = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
        evicted: list[Evicted] = []
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
        with self._lock:
            count, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries").fetchone()
        return {"entries": int(count), "bytes": int(size), "cap_bytes": self.cap_bytes}

    def __len__(self) -> int:
        return self.stats()["entries"]

    def close(self) -> None:
        with self._lock:
            self._db.close()
