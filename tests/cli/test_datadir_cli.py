"""Which data directory: ``serve`` and the admin commands find each other from any folder (the running
server's state file, the per-user default), every admin command says which directory it used and why,
and ``serve`` on a port in use is one clear line with nothing created."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from framescout.server.process import ServerProcess
from framescout.store import Store
from framescout.store.locate import (
    SOURCE_ENV,
    SOURCE_LEGACY,
    SOURCE_OPTION,
    SOURCE_USER,
    AmbiguousDataDir,
    choose_for_admin,
    choose_for_serve,
    running_servers,
    servers_dir,
    user_data_dir,
)

pytest.importorskip("onnx", reason="onnx (dev extra) builds the test model for `models add`")
from onnx_graphs import constant_model, yolov8


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``framescout ARGS`` typed in the folder ``cwd``, with this test's home (tests/conftest.py)."""
    return subprocess.run(
        [sys.executable, "-m", "framescout", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def announced(done: subprocess.CompletedProcess[str]) -> str:
    """The ``data directory: ...`` line a command printed on stderr."""
    lines = [line for line in done.stderr.splitlines() if line.startswith("data directory: ")]
    assert len(lines) == 1, (done.stdout, done.stderr)
    return lines[0]


def test_admin_commands_in_another_folder_use_the_running_servers_data_dir(tmp_path: Path) -> None:
    """The README's two terminals: `serve --data-dir` in one folder, the admin commands in another
    without --data-dir. Before, `keys create` there made a new ./framescout-data and a key the server
    refused with 401."""
    folder_a, folder_b, legacy_here = tmp_path / "A", tmp_path / "B", tmp_path / "C"
    for folder in (folder_a, folder_b, legacy_here):
        folder.mkdir()
    data = folder_a / "store"
    model = constant_model(tmp_path / "m.onnx", yolov8())
    names = tmp_path / "names.txt"
    names.write_text("person\ncar\n")
    with ServerProcess(data, cwd=folder_a) as server:
        [state] = running_servers()
        assert (state.url, state.data_dir, state.pid) == (server.url, data.resolve(), state.pid)
        expected = f"data directory: {data.resolve()} (the running server's, {server.url})"

        created = run(folder_b, "keys", "create", "--workspace", "acme")
        assert created.returncode == 0, created.stderr
        assert announced(created) == expected
        key = created.stdout.strip()
        assert len(created.stdout.splitlines()) == 1  # stdout is the key alone: KEY=$(...) works
        whoami = httpx.get(f"{server.url}/api/v1/whoami", headers={"Authorization": f"Bearer {key}"})
        assert whoami.status_code == 200 and whoami.json()["slug"] == "acme"

        commands = [
            ("projects", "create", "acme/street"),
            ("models", "add", "acme/street", "1", "--onnx", str(model), "--classes", str(names)),
            ("projects", "list", "acme"),
            ("keys", "list"),
            ("versions", "list", "acme/street"),
            ("doctor",),
        ]
        for args in commands:
            done = run(folder_b, *args)
            assert done.returncode == 0, (args, done.stderr)
            assert announced(done) == expected, args
        versions = httpx.get(
            f"{server.url}/api/v1/projects/acme/street/versions", headers={"Authorization": f"Bearer {key}"}
        )
        assert versions.status_code == 200 and "1" in versions.text
        exported = run(folder_b, "export", "acme/street", "--format", "coco", "--out", str(tmp_path / "out"))
        assert exported.returncode == 1 and "no images with ground truth" in exported.stderr  # empty project
        assert announced(exported) == expected

        Store.open(legacy_here / "framescout-data").close()  # an old-style store in the current folder
        noted = run(legacy_here, "keys", "list")
        assert noted.returncode == 0 and announced(noted) == expected
        assert f"note: not using {(legacy_here / 'framescout-data').resolve()}" in noted.stderr

        taken = run(folder_b, "serve", "--port", str(server.port))  # item 8, a framescout server holds it
        assert taken.returncode == 1 and taken.stdout == ""
        assert f"framescout is already serving {server.url} (pid {state.pid}" in taken.stderr
    assert not (folder_a / "framescout-data").exists() and not (folder_b / "framescout-data").exists()
    assert not user_data_dir().exists()  # nothing was created in the per-user default either
    assert list(servers_dir().glob("*.json")) == []  # the state file went with the server

    after = run(folder_b, "keys", "list")  # server stopped: the per-user default, which has no store
    assert after.returncode == 1
    assert announced(after) == f"data directory: {user_data_dir().resolve()} ({SOURCE_USER})"
    assert "no framescout data directory" in after.stderr and "framescout serve" in after.stderr
    assert not user_data_dir().exists()


def test_without_a_server_serve_and_the_admin_commands_share_the_per_user_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key made before the server starts, in another folder, lands where `serve` will look."""
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    created = run(here, "keys", "create", "--workspace", "acme")
    assert created.returncode == 0, created.stderr
    assert announced(created) == f"data directory: {user_data_dir().resolve()} ({SOURCE_USER})"
    assert (user_data_dir() / "framescout.db").is_file() and not (here / "framescout-data").exists()
    listed = run(there, "keys", "list", "--json")
    assert listed.returncode == 0 and '"workspace": "acme"' in listed.stdout
    monkeypatch.chdir(there)
    assert choose_for_serve(None).path == user_data_dir().resolve()


def test_precedence_option_env_legacy_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("FRAMESCOUT_DATA_DIR", raising=False)
    for choose in (choose_for_serve, choose_for_admin):
        assert (choose(None).path, choose(None).source) == (user_data_dir().resolve(), SOURCE_USER)
    Store.open(folder / "framescout-data").close()  # people who already have ./framescout-data keep it
    for choose in (choose_for_serve, choose_for_admin):
        legacy = choose(None)
        assert (legacy.path, legacy.source) == ((folder / "framescout-data").resolve(), SOURCE_LEGACY)
        assert "./framescout-data in the current folder" in legacy.describe()
    monkeypatch.setenv("FRAMESCOUT_DATA_DIR", str(tmp_path / "from-env"))
    for choose in (choose_for_serve, choose_for_admin):
        assert (choose(None).path, choose(None).source) == ((tmp_path / "from-env").resolve(), SOURCE_ENV)
        given = choose(tmp_path / "given")
        assert (given.path, given.source) == ((tmp_path / "given").resolve(), SOURCE_OPTION)
    assert (
        not (tmp_path / "from-env").exists() and not (tmp_path / "given").exists()
    )  # choosing makes nothing


def test_a_state_file_left_by_kill_9_is_ignored_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(gone.stdout)
    servers_dir().mkdir(parents=True)
    stale = servers_dir() / f"{pid}.json"
    stale.write_text(f'{{"pid": {pid}, "url": "http://127.0.0.1:1", "data_dir": "{tmp_path / "old"}"}}')
    mine = servers_dir() / f"{os.getpid()}.json"  # a live process that is not framescout (pid reuse)
    mine.write_text(f'{{"pid": {os.getpid()}, "url": "http://127.0.0.1:2", "data_dir": "{tmp_path / "x"}"}}')
    assert choose_for_admin(None).source == SOURCE_USER
    assert not stale.exists() and not mine.exists()


def test_serve_on_a_port_in_use_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    """Before: the banner, a new data directory, then uvicorn's exit 3."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        explicit = run(tmp_path, "serve", "--port", str(port), "--data-dir", str(tmp_path / "new"))
        default = run(tmp_path, "serve", "--port", str(port))
    for done in (explicit, default):
        assert done.returncode == 1
        assert done.stdout == ""  # no banner
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, done.stderr
        assert (
            lines[0].startswith("error: cannot listen on 127.0.0.1:")
            and f":{port}: the port is in use" in lines[0]
        )
        assert "another program listens on it" in lines[0] and f"--port {port + 1}" in lines[0]
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "new").exists() and not user_data_dir().exists()
    assert not servers_dir().exists()


def _pretend_server(tmp_path: Path, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    """A live process whose command line reads ``... framescout serve`` and its state file, as
    `record_server` writes them (the real server is started in the first test of this file)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "framescout", "serve"])
    cmdline = Path(f"/proc/{proc.pid}/cmdline")
    deadline = time.monotonic() + 10
    while cmdline.exists() and b"serve" not in cmdline.read_bytes():  # forked, not yet exec'd
        assert time.monotonic() < deadline
        time.sleep(0.01)
    servers_dir().mkdir(parents=True, exist_ok=True)
    state = servers_dir() / f"{proc.pid}.json"
    body = {"pid": proc.pid, "url": f"http://127.0.0.1:{proc.pid}", "data_dir": str(tmp_path / name)}
    state.write_text(json.dumps(body))
    return proc, state


def test_several_servers_with_different_data_dirs_are_not_guessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first, first_state = _pretend_server(tmp_path, "one")
    second, second_state = _pretend_server(tmp_path, "two")
    try:
        with pytest.raises(AmbiguousDataDir, match="different data directories"):
            choose_for_admin(None)
        refused = run(tmp_path, "keys", "list")
        assert refused.returncode == 1 and refused.stdout == ""
        assert "error: framescout servers with different data directories are running" in refused.stderr
        assert str(tmp_path / "one") in refused.stderr and "pass --data-dir" in refused.stderr
        assert choose_for_admin(tmp_path / "one").source == SOURCE_OPTION  # --data-dir settles it
        second.kill()
        second.wait()
        chosen = choose_for_admin(None)  # the one left is used; the dead one's file is cleaned up
        assert (chosen.path, chosen.source) == (
            tmp_path / "one",
            f"the running server's, http://127.0.0.1:{first.pid}",
        )
        assert first_state.exists() and not second_state.exists()
    finally:
        for proc in (first, second):
            proc.kill()
            proc.wait()
