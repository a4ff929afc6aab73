"""Copy an embedded install (a data directory: SQLite file + ``blobs/`` + ``models/``) into another
store, e.g. PostgreSQL + S3: ``framescout migrate-store`` (`framescout.cli.migrate_store`) without the CLI.

Order, so that an interruption anywhere leaves nothing a reader of the target could trip on and a second
run finishes the job:

1. checks before anything is written: the source's schema revision is this version's head (else
   `MigrationRefused`: open it with this version first); the target database is migrated to head; it
   holds no workspace that is not the source's (same id *and* slug), i.e. it is empty or an earlier run
   of this same migration;
2. blobs (images, dataset-version manifests and the images they name), each re-hashed on the target
   and journalled (`migrate_blobs`), before any row that points at them;
3. rows, table by table in dependency order, in batches of idempotent inserts (`migrate_rows`), then
   PostgreSQL's sequences moved past the copied integer ids;
4. model files into a target directory, when one is given (into an ``s3://`` target blob store they
   went with the blobs in step 2: hosts fetch them from there);
5. verification: every source row found in the target with the same values and the same row count per
   table (every referenced blob was verified on the target by step 2: read back and re-hashed, or for
   one an earlier run verified, found there).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from framescout.store.blob_url import BlobStoreUnavailable, describe_blob_store, open_blob_store
from framescout.store.blobs import BlobStore, LocalBlobStore
from framescout.store.datadir import Store
from framescout.store.db import MIGRATIONS, Database, sqlite_url
from framescout.store.migrate_blobs import (
    JOBS,
    BlobCopy,
    Journal,
    ModelCopy,
    ModelFiles,
    copy_blobs,
    copy_models,
    journal_path,
)
from framescout.store.migrate_rows import (
    BATCH_ROWS,
    SUPPORTED,
    RowCopyError,
    TableCheck,
    compare_table,
    copied_tables,
    copy_table,
    count_rows,
    reset_sequences,
)
from framescout.store.models import Workspace
from framescout.store.references import collect_references

Advance = Callable[[int], None]


class Progress(Protocol):
    """How a caller shows progress: one phase at a time, each with a known total."""

    def phase(self, description: str, total: int) -> Advance: ...


class _Quiet:
    def phase(self, description: str, total: int) -> Advance:
        return lambda n: None


class MigrationRefused(Exception):
    """The migration cannot start (or go on) as asked; the message says what to do."""


@dataclass
class Migration:
    """What a run did and what the verification found."""

    source: str
    target_database: str
    target_blobs: str
    written: dict[str, int] = field(default_factory=dict)
    tables: list[TableCheck] = field(default_factory=list)
    blobs: BlobCopy = field(default_factory=BlobCopy)
    blobs_referenced: int = 0
    models: ModelCopy = field(default_factory=lambda: ModelCopy([], None))
    model_blobs: BlobCopy | None = None
    """Model files put into a shared (``s3://``) target blob store; ``None`` for a directory target."""

    @property
    def ok(self) -> bool:
        failed = self.blobs.failed or self.models.failed or (self.model_blobs and self.model_blobs.failed)
        return all(t.ok for t in self.tables) and not failed


def head_revision() -> str:
    """The newest schema revision this version of framescout knows."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision a database is at (``None``: not a framescout database)."""
    try:
        with engine.connect() as conn:
            revision = conn.scalar(text("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError:
        return None
    return None if revision is None else str(revision)


def open_source(data_dir: Path) -> Store:
    """The embedded store in ``data_dir``, opened without migrating it (its schema is checked instead)
    and always with its own ``blobs/``, whatever ``FRAMESCOUT_BLOB_URL`` says."""
    root = data_dir.expanduser().resolve()
    db_file = root / "framescout.db"
    if not db_file.is_file():
        raise MigrationRefused(f"--from: no framescout data directory at {root} (no framescout.db)")
    db = Database(sqlite_url(db_file))
    store = Store(root, db, LocalBlobStore(root / "blobs"), root / "models", created=False)
    revision, head = schema_revision(db.read_engine), head_revision()
    if revision != head:
        store.close()
        raise MigrationRefused(
            f"the source {root} is at schema revision {revision or '(none)'}, this framescout's is {head}: "
            f"open it with this version first (e.g. `framescout doctor {root}`, which migrates it), "
            "then run migrate-store again"
            if revision is None or revision < head
            else f"the source {root} was written by a newer framescout (schema {revision}, this one "
            f"knows up to {head}): run migrate-store with that version"
        )
    return store


def open_target(database_url: str, blob_url: str, source: Store) -> tuple[Database, BlobStore]:
    """The target database, migrated to head, and the target blob store; refused when either is the
    source itself."""
    try:
        backend = make_url(database_url).get_backend_name()
    except ArgumentError:
        raise MigrationRefused(f"--database-url: {database_url!r} is not a database URL") from None
    if backend not in SUPPORTED:
        raise MigrationRefused(
            f"--database-url: migrate-store copies into PostgreSQL or SQLite, not {backend}"
        )
    if database_url == source.db.url or database_url.rstrip("/") == sqlite_url(
        source.data_dir / "framescout.db"
    ):
        raise MigrationRefused("--database-url is the source's own database: give the new one")
    try:
        blobs = open_blob_store(blob_url, source.data_dir)
    except BlobStoreUnavailable as exc:
        raise MigrationRefused(str(exc)) from None
    if isinstance(blobs, LocalBlobStore) and blobs.root.resolve() == (source.data_dir / "blobs"):
        raise MigrationRefused("--blob-url is the source's own blobs/ directory: give the new store")
    try:
        db = Database.open(database_url)
    except ImportError as exc:  # the driver: psycopg is the postgres extra
        raise MigrationRefused(
            f"--database-url needs a database driver that is not installed ({exc}); for PostgreSQL: "
            "pip install 'framescout[postgres]'"
        ) from None
    except Exception as exc:  # unreachable server, bad URL, a schema from a newer framescout
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise MigrationRefused(f"cannot open the target database (--database-url): {reason}") from None
    revision, head = schema_revision(db.write_engine), head_revision()
    if revision != head:
        db.dispose()
        raise MigrationRefused(f"the target database is at schema {revision}, not {head}, after migrating it")
    return db, blobs


def foreign_workspaces(source: Engine, target: Engine) -> list[str]:
    """Workspaces in the target that are not the source's (same id and slug): other data."""
    query = select(Workspace.id, Workspace.slug)
    with source.connect() as conn:
        ours = {(r[0], r[1]) for r in conn.execute(query)}
    with target.connect() as conn:
        theirs = {(r[0], r[1]) for r in conn.execute(query)}
    return sorted(slug for ident, slug in theirs - ours)


def _target_description(blobs: BlobStore) -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or ""
    return f"{describe_blob_store(blobs)} {endpoint}"


def migrate_store(
    data_dir: Path,
    database_url: str,
    blob_url: str,
    *,
    models_to: Path | None = None,
    progress: Progress | None = None,
    jobs: int = JOBS,
    batch_rows: int = BATCH_ROWS,
) -> Migration:
    """Copy, then verify; `MigrationRefused` before anything is copied when the run cannot be done.
    ``jobs`` blobs move at once; ``batch_rows`` rows go in each target transaction."""
    show = progress or _Quiet()
    source = open_source(data_dir)
    try:
        target_db, target_blobs = open_target(database_url, blob_url, source)
        try:
            return _run(source, target_db, target_blobs, models_to, show, (jobs, batch_rows))
        finally:
            target_db.dispose()
    finally:
        source.close()


def _run(
    source: Store,
    target_db: Database,
    target_blobs: BlobStore,
    models_to: Path | None,
    show: Progress,
    sizes: tuple[int, int],
) -> Migration:
    src, dst = source.db.read_engine, target_db.write_engine
    jobs, batch_rows = sizes
    others = foreign_workspaces(src, dst)
    if others:
        raise MigrationRefused(
            f"the target database already holds other workspaces ({', '.join(others)}): migrate-store "
            "copies into an empty database (or finishes its own interrupted run); give a new database"
        )
    result = Migration(str(source.data_dir), _safe_url(target_db.url), describe_blob_store(target_blobs))
    refs = collect_references(source)
    journal = Journal(journal_path(source.data_dir, _target_description(target_blobs)))
    result.blobs_referenced = len(refs.blobs)
    result.blobs = copy_blobs(
        refs.blobs, source.blobs, target_blobs, journal, show.phase("blobs", len(refs.blobs)), jobs=jobs
    )
    if not isinstance(target_blobs, LocalBlobStore):  # shared: hosts fetch models from it
        models = ModelFiles(source.models_dir)
        advance = show.phase("models", len(refs.models))
        result.model_blobs = copy_blobs(refs.models, models, target_blobs, journal, advance, jobs=jobs)
    if result.blobs.failed or (result.model_blobs and result.model_blobs.failed):
        return result  # no rows pointing at files the target lacks
    tables = copied_tables()
    try:
        rows = sum(count_rows(src, table) for table in tables)
        advance = show.phase("rows", rows)
        for table in tables:
            result.written[table.name] = copy_table(src, dst, table, advance, batch_rows)
    except RowCopyError as exc:
        raise MigrationRefused(str(exc)) from None
    reset_sequences(dst)
    advance = show.phase("models", len(refs.models) if models_to else 0)
    result.models = copy_models(refs.models, source.models_dir, models_to, advance)
    advance = show.phase("verifying rows", rows)
    result.tables = [compare_table(src, dst, table, advance) for table in tables]
    return result


def _safe_url(url: str) -> str:
    """A database URL without its password, for output."""
    return make_url(url).render_as_string(hide_password=True)
