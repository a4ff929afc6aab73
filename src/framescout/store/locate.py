"""Which data directory: so that ``framescout serve`` and the admin commands find each other from any folder.

``serve`` uses ``--data-dir``, else ``$FRAMESCOUT_DATA_DIR``, else an existing ``./framescout-data`` in
the current folder (where earlier versions kept it), else the per-user default
(``$XDG_DATA_HOME/framescout``, i.e. ``~/.local/share/framescout``). While it runs it records itself in
a small state file (``$XDG_STATE_HOME/framescout/servers/<pid>.json``: data directory, URL, pid; removed
on exit). Admin commands use ``--data-dir``, else ``$FRAMESCOUT_DATA_DIR``, else the running server's
data directory, else the same fallbacks as ``serve``. Nothing here creates a directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "framescout"
DATA_DIR_ENV = "FRAMESCOUT_DATA_DIR"
LEGACY_DIR_NAME = "framescout-data"

SOURCE_OPTION = "--data-dir"
SOURCE_ENV = f"${DATA_DIR_ENV}"
SOURCE_LEGACY = f"./{LEGACY_DIR_NAME} in the current folder"
SOURCE_USER = "the per-user default"


def _xdg(variable: str, fallback: str) -> Path:
    """An XDG base directory: the variable when it holds an absolute path (the spec ignores relative
    ones), else ``~/fallback``."""
    value = os.environ.get(variable, "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / fallback


def user_data_dir() -> Path:
    """The per-user default data directory: ``$XDG_DATA_HOME/framescout`` (``~/.local/share/framescout``);
    on Windows ``%LOCALAPPDATA%\\framescout\\data``."""
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / APP_NAME / "data"
    return _xdg("XDG_DATA_HOME", ".local/share") / APP_NAME


def servers_dir() -> Path:
    """Where running servers record themselves: ``$XDG_STATE_HOME/framescout/servers``
    (``~/.local/state/framescout/servers``); on Windows ``%LOCALAPPDATA%\\framescout\\state\\servers``."""
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / APP_NAME / "state" / "servers"
    return _xdg("XDG_STATE_HOME", ".local/state") / APP_NAME / "servers"


def legacy_data_dir() -> Path | None:
    """``./framescout-data`` in the current folder when it holds a store (earlier versions' default)."""
    path = Path.cwd() / LEGACY_DIR_NAME
    if (path / "framescout.db").is_file() or (path / "blobs").is_dir():
        return path.resolve()
    return None


@dataclass(frozen=True)
class RunningServer:
    """One ``framescout serve`` process, as its state file describes it."""

    pid: int
    url: str
    data_dir: Path
    started_at: float
    state_file: Path


@dataclass(frozen=True)
class DataDirChoice:
    """The data directory a command uses, and why (so the command can say so)."""

    path: Path
    source: str
    note: str | None = None
    """Something the user should know, e.g. a ``./framescout-data`` here that was not used."""

    def describe(self) -> str:
        return f"{self.path} ({self.source})"


class AmbiguousDataDir(Exception):
    """Several running servers use different data directories and nothing says which one is meant."""


def _absolute(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def choose_for_serve(explicit: str | Path | None) -> DataDirChoice:
    """The data directory ``framescout serve`` uses (see the module docstring)."""
    if explicit:
        return DataDirChoice(_absolute(explicit), SOURCE_OPTION)
    if os.environ.get(DATA_DIR_ENV):
        return DataDirChoice(_absolute(os.environ[DATA_DIR_ENV]), SOURCE_ENV)
    legacy = legacy_data_dir()
    if legacy is not None:
        return DataDirChoice(legacy, SOURCE_LEGACY)
    return DataDirChoice(user_data_dir().resolve(), SOURCE_USER)


def choose_for_admin(explicit: str | Path | None) -> DataDirChoice:
    """The data directory an admin command uses: like ``serve``, but a running server's data directory
    comes before the current folder's ``./framescout-data`` and the per-user default.

    Raises `AmbiguousDataDir` when running servers use different data directories."""
    if explicit or os.environ.get(DATA_DIR_ENV):
        return choose_for_serve(explicit)
    servers = running_servers()
    roots = {s.data_dir for s in servers}
    if len(roots) > 1:
        listing = "; ".join(f"{s.url} (pid {s.pid}): {s.data_dir}" for s in servers)
        raise AmbiguousDataDir(f"framescout servers with different data directories are running: {listing}")
    legacy = legacy_data_dir()
    if servers:
        newest = max(servers, key=lambda s: s.started_at)
        note = None
        if legacy is not None and legacy != newest.data_dir:
            note = f"not using {legacy} (pass --data-dir {LEGACY_DIR_NAME} to use it)"
        return DataDirChoice(newest.data_dir, f"the running server's, {newest.url}", note)
    return choose_for_serve(None)


def default_data_dir() -> Path:
    """The data directory ``serve`` uses without ``--data-dir`` (absolute)."""
    return choose_for_serve(None).path


# --- the state file of a running server -----------------------------------------------------------------


def record_server(data_dir: Path, url: str) -> Path:
    """Write this process's state file atomically (``servers/<pid>.json``); return its path."""
    pid = os.getpid()
    folder = servers_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{pid}.json"
    tmp = target.with_name(f".{pid}.json.tmp")
    body = {"pid": pid, "url": url, "data_dir": str(data_dir), "started_at": time.time()}
    tmp.write_text(json.dumps(body) + "\n")
    tmp.replace(target)
    return target


def forget_server(state_file: Path) -> None:
    """Remove a state file (the server is stopping); missing is fine."""
    with contextlib.suppress(OSError):
        state_file.unlink()


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live framescout process (a stale file left by ``kill -9`` is not)."""
    if sys.platform == "win32":
        return True  # no cheap, safe probe (os.kill(pid, 0) would signal it); files are removed on exit
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    if Path("/proc/self/cmdline").exists():  # Linux: a pid reused by another program is not our server
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        names = [os.path.basename(a) for a in args]  # `framescout serve`, `python -m framescout serve`
        return b"serve" in names and APP_NAME.encode() in names[: names.index(b"serve")]
    return True


def _read(path: Path) -> RunningServer | None:
    try:
        body = json.loads(path.read_text())
        return RunningServer(
            pid=int(body["pid"]),
            url=str(body["url"]),
            data_dir=Path(body["data_dir"]),
            started_at=float(body.get("started_at", 0.0)),
            state_file=path,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running_servers() -> list[RunningServer]:
    """The framescout servers running for this user, oldest first; stale state files are removed."""
    folder = servers_dir()
    if not folder.is_dir():
        return []
    found: list[RunningServer] = []
    for path in sorted(folder.glob("*.json")):
        server = _read(path)
        if server is None:
            continue  # being written, or not ours: leave it
        if _alive(server.pid):
            found.append(server)
        else:
            forget_server(path)
    return sorted(found, key=lambda s: s.started_at)
