"""The stores ``upload_ingest.py`` runs its workload on: the embedded default (SQLite + the data
directory's blobs/) and the scale-out one (PostgreSQL + S3), each configuration on a fresh one (a new
data directory; a new PostgreSQL database beside the given one and a new prefix of the given bucket);
the servers behind the client (one, or two with their own empty data directories on the scale-out
store); and the check that every uploaded image was stored once and its blob is intact."""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, select, text

from framescout.imaging import sha256_hex
from framescout.server.process import ServerProcess
from framescout.store import Store
from framescout.store.models import Image

PROJECT = "bench/ingest"


@dataclass(frozen=True)
class Target:
    """One fresh store: a data directory (per server), and the database and blob URLs when scale-out."""

    name: str  # "sqlite+files", "postgresql+s3" (or "postgresql+files" with a file:// blob URL)
    data_dir: Path
    database_url: str | None = None
    blob_url: str | None = None

    def url_args(self) -> list[str]:
        return [*self._opt("--database-url", self.database_url), *self._opt("--blob-url", self.blob_url)]

    @staticmethod
    def _opt(name: str, value: str | None) -> list[str]:
        return [name, value] if value else []


_runs = itertools.count()


def fresh_target(root: Path, database_url: str | None, blob_url: str | None) -> Target:
    """A new empty store under ``root``: SQLite when no URLs, else a new database and blob prefix."""
    run = next(_runs)
    data_dir = root / f"run{run}"
    if not database_url or not blob_url:
        return Target("sqlite+files", data_dir)
    suffix = uuid.uuid4().hex[:8]
    base = make_url(database_url)
    name = f"{base.database}_bench_{suffix}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))  # the role needs CREATEDB
    engine.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)
    kind = f"{base.get_backend_name()}+{'s3' if blob_url.startswith('s3:') else 'files'}"
    return Target(kind, data_dir, url, f"{blob_url.rstrip('/')}/bench-{suffix}")


def drop_target(target: Target) -> None:
    """Remove a scale-out run's database (its objects stay in the bucket, under their own prefix)."""
    if target.database_url is None:
        return
    url = make_url(target.database_url)
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with contextlib.suppress(Exception), engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    engine.dispose()


def admin(target: Target, data_dir: Path, *args: str) -> str:
    """A ``framescout`` admin command on the target's store."""
    return ServerProcess(data_dir).cli(*args, *target.url_args())


@contextlib.contextmanager
def servers(target: Target, count: int, workers: int) -> Iterator[tuple[list[str], str]]:
    """``count`` running servers on the store (URLs) and an API key. On SQLite they share the data
    directory (one machine); on the scale-out store each has its own empty one (two hosts)."""
    dirs = [
        target.data_dir if target.database_url is None else target.data_dir / f"host{i}" for i in range(count)
    ]
    key = (
        admin(target, dirs[0], "keys", "create", "--workspace", PROJECT.split("/")[0])
        .strip()
        .splitlines()[-1]
    )
    admin(target, dirs[0], "projects", "create", PROJECT)
    procs = [ServerProcess(d, workers=workers, args=target.url_args()) for d in dirs]
    with contextlib.ExitStack() as stack:
        for proc in procs:
            stack.enter_context(proc)
        yield [p.url for p in procs], key


def verify(target: Target, expected: set[str], *, rehash: bool) -> None:
    """Every expected hash is in the database exactly once and has its blob (re-hashed if asked)."""
    store = Store.open(target.data_dir, database_url=target.database_url, blob_url=target.blob_url)
    try:
        with store.db.reading() as session:
            rows = list(session.scalars(select(Image.sha256)))
        assert len(rows) == len(set(rows)) == len(expected), (len(rows), len(set(rows)), len(expected))
        assert set(rows) == expected, "database hashes differ from what was uploaded"
        blobs = store.blobs.iter_hashes()
        assert set(blobs) == expected, (len(blobs), len(expected))
        for sha in blobs if rehash else ():
            assert sha256_hex(store.blobs.get(sha)) == sha, f"blob {sha} is corrupt"
    finally:
        store.close()
