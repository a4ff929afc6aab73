"""SQLite's own checks of the store's database: ``integrity_check`` and ``foreign_key_check``.

Run on a read-only connection, so ``framescout doctor`` can check a database a server is using."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class DatabaseCheck:
    """What SQLite said about the database file (``error`` when it could not be checked at all)."""

    path: str
    integrity: list[str] = field(default_factory=list)  # ["ok"] when healthy
    foreign_keys: list[str] = field(default_factory=list)  # violations
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.integrity == ["ok"] and not self.foreign_keys


def check_database(db_path: Path) -> DatabaseCheck:
    """SQLite's own ``integrity_check`` and ``foreign_key_check``, on a read-only connection."""
    check = DatabaseCheck(str(db_path))
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        check.error = f"cannot open {db_path}: {exc}"
        return check
    try:
        check.integrity = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
        check.foreign_keys = [
            f"{table} row {rowid} refers to a missing {parent} row"
            for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check")
        ]
    except sqlite3.Error as exc:
        check.error = f"{db_path} cannot be checked: {exc}"
    finally:
        conn.close()
    return check
