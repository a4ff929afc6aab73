"""``framescout doctor [DATA_DIR]``: check the store's integrity and (with ``--fix``) remove orphans.

Exit code 0 when the store is healthy, 1 when it is not (the output says what to do)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from framescout.cli._output import console, errors, fail
from framescout.cli._store import announce, resolve_data_dir
from framescout.store import Store
from framescout.store.blob_url import BlobStoreUnavailable
from framescout.store.database_check import DatabaseCheck, check_database, check_database_url
from framescout.store.datadir import DATABASE_URL_ENV
from framescout.store.integrity import DEFAULT_GRACE_SECONDS, inspect_store, stored_bytes
from framescout.store.integrity_report import FileIssue, Report
from framescout.store.repair import fix

SHOWN = 20


def doctor(
    data_dir: Path | None = typer.Argument(
        None,
        help="Data directory. Default: $FRAMESCOUT_DATA_DIR, else the running server's, else "
        "./framescout-data if this folder has one, else ~/.local/share/framescout.",
    ),
    fix_: bool = typer.Option(False, "--fix", help="Remove orphan blobs/models and temporary files."),
    grace: float = typer.Option(
        DEFAULT_GRACE_SECONDS,
        "--grace",
        min=0,
        help="Only files older than this many seconds count as orphans or leftovers (uploads in flight "
        "write their blob before their row commits).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    rehash: bool = typer.Option(
        True,
        "--rehash/--no-rehash",
        help="Re-hash every blob and model (the default; on an s3:// store this reads every object). "
        "--no-rehash only checks that they exist: corrupt content goes unnoticed.",
    ),
) -> None:
    """Check the database (SQLite: integrity, foreign keys; --database-url: connection and schema
    revision), re-hash every blob (files or s3:// objects) and model file, and list missing, corrupt,
    orphan and temporary files. Safe while the server runs."""
    choice = resolve_data_dir(data_dir)
    announce(choice)
    root = choice.path
    database = _check_database(root)
    if database.error or database.integrity != ["ok"]:
        report = Report(str(root), grace, database)  # do not build on a damaged database
    else:
        try:
            store = Store.open(root)
        except BlobStoreUnavailable as exc:
            fail(str(exc))
        except Exception as exc:  # a schema the migrations cannot bring up to date
            fail(f"cannot open the data directory {root}: {exc}")
        try:
            report = _inspect(store, grace, database, quiet=as_json, rehash=rehash)
            if fix_:
                fix(store, report)
        finally:
            store.close()
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        _print(report, fixing=fix_)
    raise typer.Exit(0 if report.healthy else 1)


def _check_database(root: Path) -> DatabaseCheck:
    """The database doctor checks: ``$FRAMESCOUT_DATABASE_URL`` (--database-url) when set, else the
    data directory's ``framescout.db`` (which must exist)."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        return check_database_url(url)
    db_path = root / "framescout.db"
    if not db_path.is_file():
        fail(f"no framescout data directory at {root} (no framescout.db); pass --data-dir or --database-url")
    return check_database(db_path)


def _inspect(store: Store, grace: float, database: DatabaseCheck, *, quiet: bool, rehash: bool) -> Report:
    columns = (
        TextColumn("re-hashing blobs"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=errors, transient=True, disable=quiet) as progress:
        task = progress.add_task("hash", total=stored_bytes(store) if rehash else 0)
        return inspect_store(
            store,
            grace_seconds=grace,
            database=database,
            progress=lambda n: progress.advance(task, n),
            rehash=rehash,
        )


def _files(title: str, items: list[FileIssue]) -> None:
    if not items:
        return
    size = sum(i.size for i in items)
    console.print(f"{title}: {len(items)} ({size:,} bytes)")
    for item in items[:SHOWN]:
        state = "removed" if item.removed else f"{item.age_seconds:.0f} s old"
        console.print(f"  {item.path}  ({item.reason}; {state})", markup=False)
    if len(items) > SHOWN:
        console.print(f"  … and {len(items) - SHOWN} more (--json lists all)")


def _print(report: Report, *, fixing: bool) -> None:
    db = report.database
    if db.ok and db.backend == "sqlite":
        console.print("database: ok (integrity_check ok, foreign keys ok)")
    elif db.ok:
        console.print(f"database: ok ({db.path}, {db.backend}, schema revision {db.revision})", markup=False)
    else:
        console.print(f"database: DAMAGED {db.error or ''}", markup=False)
        for line in [*(m for m in db.integrity if m != "ok"), *db.foreign_keys][:SHOWN]:
            console.print(f"  {line}", markup=False)
    checked = "re-hashed" if report.bytes_hashed or not report.blobs_checked else "found"
    console.print(
        f"files: {report.blobs_checked} blobs and {report.models_checked} models {checked} "
        f"({report.bytes_hashed:,} bytes)"
    )
    if report.missing:
        console.print(f"missing or corrupt: {len(report.missing)} referenced files")
        for m in report.missing[:SHOWN]:
            state = "corrupt (content does not match its hash)" if m.corrupt else "missing"
            console.print(
                f"  {m.kind} {m.sha256} {state}; used by {', '.join(m.referenced_by)}", markup=False
            )
    kept = report.recent()
    old = [f for f in (*report.orphans, *report.temp_files) if f not in kept]
    _files("orphan files", [f for f in old if f.kind != "temp"])
    _files("temporary files", [f for f in old if f.kind == "temp"])
    _files("stray files under blobs/", report.stray)
    if kept:
        _files(f"recent files kept (younger than the {report.grace_seconds:.0f} s grace period)", kept)
    for problem in report.problems:
        console.print(f"problem: {problem}", markup=False)
    if fixing:
        console.print(f"fixed: {len(report.fixed)} changes")
    if report.healthy:
        console.print("[bold green]healthy[/]", markup=True)
        return
    console.print("[bold red]UNHEALTHY[/]", markup=True)
    for line in report.advice():
        console.print(f"  to do: {line}", markup=False)
