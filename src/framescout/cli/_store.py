"""Opening the data directory for admin commands: find the one the running server uses, say which one
was used and why, refuse a missing one."""

from __future__ import annotations

import os
from pathlib import Path

from framescout.cli._output import errors, fail
from framescout.store import Store
from framescout.store.datadir import DATABASE_URL_ENV
from framescout.store.locate import AmbiguousDataDir, DataDirChoice, choose_for_admin


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
    except Exception as exc:  # an unreadable directory, a database that is not SQLite, ...
        fail(f"cannot open the data directory {choice.path}: {exc}")
