"""The database's own checks for ``framescout doctor``.

SQLite (the data directory's file): ``integrity_check`` and ``foreign_key_check`` on a read-only
connection, so a database a server is using can be checked. Any other SQLAlchemy URL (PostgreSQL, the
scale-out database): a connection and a round trip, the schema revision against this framescout's
newest migration, and constraints PostgreSQL was told not to validate (which it does not enforce on the
rows already there)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

POSTGRES_EXTRA_HINT = "postgresql URLs need psycopg: pip install 'framescout[postgres]'"


@dataclass
class DatabaseCheck:
    """What the database said about itself (``error`` when it could not be checked at all)."""

    path: str  # the SQLite file, or the URL without its password
    integrity: list[str] = field(default_factory=list)  # ["ok"] when healthy
    foreign_keys: list[str] = field(default_factory=list)  # violations
    error: str | None = None
    backend: str = "sqlite"  # or the URL's dialect ("postgresql")
    revision: str | None = None  # the schema's Alembic revision (server databases)

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


def newest_revision() -> str:
    """The head of the packaged Alembic migrations (what `Database.migrate` brings a schema to)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from framescout.store.db import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    return str(head)


def check_database_url(url: str) -> DatabaseCheck:
    """Check the database a SQLAlchemy URL names: a SQLite file as `check_database`; any other a
    connection, its schema revision (it must be this framescout's newest: doctor never migrates a
    shared database) and, on PostgreSQL, its unvalidated constraints."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return DatabaseCheck(url, error="FRAMESCOUT_DATABASE_URL / --database-url is not a SQLAlchemy URL")
    if parsed.get_backend_name() == "sqlite":
        return check_database(Path(parsed.database or ""))
    shown = parsed.render_as_string(hide_password=True)
    check = DatabaseCheck(shown, backend=parsed.get_backend_name())
    try:
        engine = create_engine(parsed, connect_args=_connect_timeout(parsed.get_backend_name()))
    except ModuleNotFoundError:
        check.error = POSTGRES_EXTRA_HINT
        return check
    head = newest_revision()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            check.revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if check.backend == "postgresql":
                check.foreign_keys = [
                    f"{table}: constraint {name} is NOT VALID (rows before it are unchecked)"
                    for table, name in conn.execute(text(_UNVALIDATED)).tuples()
                ]
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        if check.revision is None and "alembic_version" in str(exc):
            check.error = f"{shown} has no framescout schema (no alembic_version table): {reason}"
        else:
            check.error = f"cannot check {shown}: {reason}"
        return check
    finally:
        engine.dispose()
    if check.revision != head:
        check.error = (
            f"the schema is at revision {check.revision}, this framescout's is {head}: run the "
            "framescout version that matches (`framescout serve` migrates on start)"
        )
        return check
    check.integrity = ["ok"]
    return check


_UNVALIDATED = """
SELECT conrelid::regclass::text, conname FROM pg_constraint
WHERE NOT convalidated AND connamespace = current_schema()::regnamespace
ORDER BY 1, 2
"""


def _connect_timeout(backend: str) -> dict[str, int]:
    return {"connect_timeout": 10} if backend == "postgresql" else {}
