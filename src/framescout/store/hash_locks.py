"""Per-content-hash locks for the moments a blob may be created or removed (PostgreSQL only).

A failed upload removes the blob it created unless a committed row refers to it, and ``doctor --fix``
removes orphan blobs nothing refers to. Both are safe only if no concurrent upload of the same bytes
is between writing the blob and committing its row. SQLite gives that for free: every write
transaction starts with ``BEGIN IMMEDIATE``, so writers (in every process) run one at a time. On
PostgreSQL writers run together, so each of those write transactions first takes a
transaction-scoped advisory lock keyed by the hash: uploads of the same bytes, and a removal of
those bytes, then take turns, on every host, and the lock goes with the transaction's end."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def lock_key(sha256: str) -> int:
    """The signed 64-bit advisory-lock key of a content hash (any string: its own SHA-256's first
    eight bytes, so every key is spread evenly whatever the name looks like)."""
    return int.from_bytes(hashlib.sha256(sha256.encode()).digest()[:8], "big", signed=True)


def lock_hashes(conn: Connection | Session, hashes: Iterable[str]) -> None:
    """On PostgreSQL, hold the advisory locks of ``hashes`` until ``conn``'s transaction ends (taken
    in one order, so two lockers of overlapping sets cannot deadlock); on SQLite, nothing to do."""
    dialect = conn.dialect if isinstance(conn, Connection) else conn.get_bind().dialect
    if dialect.name != "postgresql":
        return
    for key in sorted({lock_key(h) for h in hashes}):
        conn.execute(_LOCK, {"key": key})
