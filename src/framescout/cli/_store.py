"""Opening the data directory for admin commands: find the one the running server uses, say which one
was used and why, refuse a missing one; the ``--database-url`` / ``--blob-url`` options they share with
``serve``."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from framescout.cli._output import errors, fail
from framescout.store import Store
from framescout.store.blob_url import BlobStoreUnavailable
from framescout.store.datadir import BLOB_URL_ENV, DATABASE_URL_ENV
from framescout.store.locate import AmbiguousDataDir, DataDirChoice, choose_for_admin

DATABASE_URL_HELP = (
    "Database instead of the data directory's SQLite file: any SQLAlchemy URL, e.g. "
    "postgresql+psycopg://user:password@host:5432/framescout."
)
BLOB_URL_HELP = (
    "Blob store instead of the data directory's blobs/: file:///absolute/path or s3://bucket/prefix "
    "(with boto3's AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION)."
)
_URL_OPTIONS = {
    "database_url": typer.Option(None, "--database-url", envvar=DATABASE_URL_ENV, help=DATABASE_URL_HELP),
    "blob_url": typer.Option(None, "--blob-url", envvar=BLOB_URL_ENV, help=BLOB_URL_HELP),
}


def with_store_urls(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with ``--database-url`` and ``--blob-url`` (defaults: ``$FRAMESCOUT_DATABASE_URL``,
    ``$FRAMESCOUT_BLOB_URL``). A given value is put into the environment before ``command`` runs, where
    `Store.open` reads it, and where ``serve``'s worker processes inherit it; so every command that
    opens the store gets both options from this one place (`framescout.cli.app`)."""

    @functools.wraps(command)
    def run(*args: Any, database_url: str | None = None, blob_url: str | None = None, **kwargs: Any) -> None:
        if database_url:
            os.environ[DATABASE_URL_ENV] = database_url
        if blob_url:
            os.environ[BLOB_URL_ENV] = blob_url
        command(*args, **kwargs)

    signature = inspect.signature(command, eval_str=True)  # what Typer reads: the command's own options
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=str | None)
        for name, option in _URL_OPTIONS.items()
    ]
    full = signature.replace(parameters=[*signature.parameters.values(), *added])
    run.__signature__ = full  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in full.parameters.values()}
    return run


def add_store_urls(group: typer.Typer) -> None:
    """`with_store_urls` on every command of a sub-command group (``keys``, ``projects``, ...)."""
    for info in group.registered_commands:
        if info.callback is not None:
            info.callback = with_store_urls(info.callback)


def resolve_data_dir(data_dir: Path | None) -> DataDirChoice:
    """The directory an admin command works on: ``--data-dir``, ``$FRAMESCOUT_DATA_DIR``, the running
    server's, ``./framescout-data`` here, else the per-user default (`framescout.store.locate`)."""
    try:
        return choose_for_admin(data_dir)
    except AmbiguousDataDir as exc:
        fail(f"{exc}; pass --data-dir")


def announce(choice: DataDirChoice) -> None:
    """Tell the user which data directory the command used and why (on stderr: stdout stays parseable)."""
    errors.print(f"data directory: {choice.describe()}", markup=False, highlight=False, soft_wrap=True)
    if choice.note:
        errors.print(f"note: {choice.note}", markup=False, highlight=False, soft_wrap=True)


def require_store(choice: DataDirChoice) -> None:
    """Refuse a directory with no database (a typo, or no server started yet) with what to do instead."""
    root = choice.path
    if os.environ.get(DATABASE_URL_ENV) or (root / "framescout.db").is_file():
        return
    fail(
        f"no framescout data directory at {root} (no framescout.db); start `framescout serve` "
        "(then run this again from any folder) or pass --data-dir"
    )


def open_store(data_dir: Path | None, *, create: bool = False) -> Store:
    """Open the data directory, announcing it; without ``create`` a directory with no database is an
    error (a typo must not silently make an empty store)."""
    choice = resolve_data_dir(data_dir)
    announce(choice)
    if not create:
        require_store(choice)
    try:
        return Store.open(choice.path)
    except BlobStoreUnavailable as exc:
        fail(str(exc))
    except Exception as exc:  # an unreadable directory, a database that is not SQLite, ...
        fail(f"cannot open the data directory {choice.path}: {exc}")
