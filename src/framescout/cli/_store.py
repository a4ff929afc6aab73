"""Opening the data directory for admin commands: say which one was used, refuse a missing one."""

from __future__ import annotations

import os
from pathlib import Path

from framescout.cli._output import errors, fail
from framescout.store import Store, default_data_dir
from framescout.store.datadir import DATABASE_URL_ENV


def resolve_data_dir(data_dir: Path | None) -> Path:
    """The directory an admin command works on (``--data-dir``, else the usual default), absolute."""
    return Path(data_dir or default_data_dir()).expanduser().resolve()


def announce(root: Path) -> None:
    """Tell the user which data directory the command used (on stderr, so stdout stays parseable)."""
    errors.print(f"data directory: {root}", markup=False, highlight=False, soft_wrap=True)


def open_store(data_dir: Path | None, *, create: bool = False) -> Store:
    """Open the data directory, announcing it; without ``create`` a directory with no database is an
    error (a typo must not silently make an empty store)."""
    root = resolve_data_dir(data_dir)
    announce(root)
    if not create and not os.environ.get(DATABASE_URL_ENV) and not (root / "framescout.db").is_file():
        fail(f"no framescout data directory at {root} (no framescout.db); pass --data-dir")
    try:
        return Store.open(root)
    except Exception as exc:  # an unreadable directory, a database that is not SQLite, ...
        fail(f"cannot open the data directory {root}: {exc}")
