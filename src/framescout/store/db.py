"""Database engines and sessions: SQLite in WAL mode by default, migrations applied on open.

Two engines share one database file: reads use deferred transactions; writes start with
``BEGIN IMMEDIATE`` so concurrent writers queue on SQLite's busy timeout instead of failing with
``SQLITE_BUSY`` when a read transaction tries to upgrade to a write.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 30_000
DatabaseError = SQLAlchemyError
"""What a failed database operation raises, for callers that carry on without it."""


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _make_engine(url: str, *, begin: str | None) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin or "BEGIN")

    return engine


class Database:
    """The metadata store: a read engine and a write engine over the same database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.read_engine = _make_engine(url, begin="BEGIN")
        self.write_engine = _make_engine(url, begin="BEGIN IMMEDIATE")
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Database:
        """Open a database and bring its schema to the newest revision."""
        db = cls(url)
        if migrate:
            db.migrate()
        return db

    def migrate(self) -> None:
        """Apply the packaged Alembic migrations (idempotent)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.write_engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads; never commits."""
        with self._read() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back on any exception."""
        with self._write() as session, session.begin():
            yield session

    def read_session(self) -> Session:
        return self._read()

    def write_session(self) -> Session:
        return self._write()

    def dispose(self) -> None:
        self.read_engine.dispose()
        self.write_engine.dispose()
