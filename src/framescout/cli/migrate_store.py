"""``framescout migrate-store --from DATA_DIR --database-url URL --blob-url URL``: copy an embedded
install into PostgreSQL + S3 (or any target database and blob store), resumable and verified.

Exit code 0 only when the verification found every row and blob in the target; 1 with what differs
otherwise, or when the migration was refused before it started."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import SQLAlchemyError

from framescout.cli._output import console, errors, fail
from framescout.store.blob_url import BlobStoreUnavailable
from framescout.store.datadir import BLOB_URL_ENV, DATABASE_URL_ENV
from framescout.store.locate import running_servers
from framescout.store.migrate_blobs import JOBS
from framescout.store.migrate_store import Advance, Migration, MigrationRefused, migrate_store

SHOWN = 10


class _Bars:
    """One Rich bar per phase (blobs, each table's rows, models, verification)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def phase(self, description: str, total: int) -> Advance:
        task = self.progress.add_task(description, total=total)
        return lambda n: self.progress.advance(task, n)


def migrate_store_command(
    source: Path = typer.Option(
        ..., "--from", help="The embedded install's data directory (framescout.db, blobs/)."
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        envvar=DATABASE_URL_ENV,
        help="The new database: any SQLAlchemy URL, e.g. postgresql+psycopg://user:password@host:5432/framescout.",
    ),
    blob_url: str | None = typer.Option(
        None,
        "--blob-url",
        envvar=BLOB_URL_ENV,
        help="The new blob store: s3://bucket/prefix (with boto3's AWS_* variables) or file:///absolute/path.",
    ),
    models_to: Path | None = typer.Option(
        None,
        "--models-to",
        help="Also copy the registered model files into this directory (a server host's DATA_DIR/models); "
        "they are not in the blob store.",
    ),
    jobs: int = typer.Option(JOBS, "--jobs", min=1, max=64, help="Blobs copied at once."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Copy a data directory's database and blobs into a new store, re-hash every blob on the target
    and compare every row. Run it again after an interruption: it goes on where it stopped."""
    if not database_url:
        fail(f"give the target database: --database-url or {DATABASE_URL_ENV}")
    if not blob_url:
        fail(f"give the target blob store: --blob-url or {BLOB_URL_ENV} (s3://bucket/prefix, file:///path)")
    root = source.expanduser().resolve()
    busy = [s for s in running_servers() if s.data_dir == root]
    if busy:
        fail(f"a framescout server (pid {busy[0].pid}, {busy[0].url}) is using {root}: stop it first")
    columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=errors, disable=quiet) as bars:
            result = migrate_store(
                root, database_url, blob_url, models_to=models_to, progress=_Bars(bars), jobs=jobs
            )
    except MigrationRefused as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted; run the same command again to go on where it stopped", 130)
    except (SQLAlchemyError, BlobStoreUnavailable, OSError) as exc:  # e.g. the target went away mid-run
        fail(f"stopped: {exc}; run the same command again to go on where it stopped")
    _print(result)
    raise typer.Exit(0 if result.ok else 1)


def _some(items: list[str] | dict[str, str]) -> str:
    shown = [f"{k} ({v})" for k, v in items.items()] if isinstance(items, dict) else list(items)
    more = f", … {len(shown) - SHOWN} more" if len(shown) > SHOWN else ""
    return ", ".join(shown[:SHOWN]) + more


def _say(line: str) -> None:
    """One line of the summary, printed as it is (paths and ids may hold brackets)."""
    console.print(line, markup=False)


def _print(result: Migration) -> None:
    _say(f"from {result.source} to {result.target_database} + {result.target_blobs}")
    for t in result.tables:
        state = "ok" if t.ok else "DIFFERENT"
        _say(
            f"  {t.table:<20} {t.source_rows:>8} rows in source, {t.target_rows:>8} in target, "
            f"{result.written.get(t.table, 0):>8} written now: {state}"
        )
        if t.missing:
            _say(f"    missing in the target: {_some(t.missing)}")
        if t.different:
            _say(f"    different in the target: {_some(t.different)}")
        if t.source_rows != t.target_rows and not t.missing:
            _say("    the target has rows the source does not (written there meanwhile?)")
    b = result.blobs
    _say(
        f"  blobs: {result.blobs_referenced} referenced, {b.uploaded} copied now ({b.bytes_copied:,} bytes), "
        f"{b.already} already verified by an earlier run (and found there)"
    )
    if b.failed:
        _say(f"    failed: {len(b.failed)}: {_some(b.failed)}")
        _say("  rows: not copied (their blobs are not all on the target); run again")
    _print_models(result)
    if result.ok:
        console.print("[bold green]verified[/]: every row and blob is in the target", markup=True)
    else:
        console.print("[bold red]NOT VERIFIED[/]: see above; run migrate-store again to resume", markup=True)


def _print_models(result: Migration) -> None:
    m, shared = result.models, result.model_blobs
    if not m.names:
        return
    if shared is not None:
        _say(
            f"  models: {len(m.names)} registered model file(s) in the blob store (hosts fetch them on first "
            f"use): {shared.uploaded} copied now, {shared.already} already verified by an earlier run"
        )
        if shared.failed:
            _say(f"    failed: {_some(shared.failed)}")
    elif m.target is None:
        _say(
            f"  models: {len(m.names)} registered model file(s) are local files, not in a shared blob store: "
            f"copy {result.source}/models/ into each server host's DATA_DIR/models/ (or pass --models-to)"
        )
    if m.target is not None:
        _say(f"  models: {m.copied} of {len(m.names)} copied into {m.target} and re-hashed")
    if m.failed:
        _say(f"    failed: {_some(m.failed)}")
