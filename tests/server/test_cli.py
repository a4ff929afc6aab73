"""The server's CLI commands: keys, projects, models, and serve's clean failures."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from framescout.cli.app import app
from framescout.store import Store
from framescout.store.accounts import workspace_for_key

runner = CliRunner()


def test_keys_create_prints_a_working_key_once(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", "create", "--workspace", "Field Team", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    store = Store.open(tmp_path)
    with store.db.reading() as session:
        workspace = workspace_for_key(session, key)
        assert workspace is not None and workspace.slug == "field-team"
    store.close()
    assert key not in (tmp_path / "framescout.db").read_bytes().decode("latin-1")  # only the hash is stored


def test_projects_create_and_clean_errors(tmp_path: Path) -> None:
    args = ["--data-dir", str(tmp_path)]
    ok = runner.invoke(app, ["projects", "create", "ws/yard", "--classes", "person, car", *args])
    assert ok.exit_code == 0 and "ws/yard" in ok.output
    again = runner.invoke(app, ["projects", "create", "ws/yard", *args])
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(app, ["projects", "create", "ws/../etc", *args])
    assert bad.exit_code == 1 and "WORKSPACE/PROJECT" in bad.output
    odd = runner.invoke(app, ["projects", "create", "ws/Bad Name!", *args])
    assert odd.exit_code == 1 and "must be 1-64 characters" in odd.output
    listed = runner.invoke(app, ["projects", "list", "ws", *args])
    assert listed.exit_code == 0 and "person, car" in listed.output


def test_models_add_refuses_bad_input(tmp_path: Path) -> None:
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"not really onnx")
    names = tmp_path / "names.txt"
    names.write_text("a\nb\n")
    args = ["--data-dir", str(tmp_path / "d")]
    bad_format = runner.invoke(
        app,
        [
            "models",
            "add",
            "ws/p",
            "1",
            "--onnx",
            str(onnx),
            "--format",
            "yolo99",
            "--classes",
            str(names),
            *args,
        ],
    )
    assert bad_format.exit_code == 1 and "--format must be one of" in bad_format.output
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    no_names = runner.invoke(
        app,
        [
            "models",
            "add",
            "ws/p",
            "1",
            "--onnx",
            str(onnx),
            "--format",
            "auto",
            "--classes",
            str(empty),
            *args,
        ],
    )
    assert no_names.exit_code == 1 and "no class names" in no_names.output


def test_serve_refuses_an_unusable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["serve", "--data-dir", str(blocker / "sub")])
    assert result.exit_code == 1 and "cannot open the data directory" in result.output


def test_serve_prints_its_address_and_keys_work_while_it_runs(tmp_path: Path) -> None:
    """A brand-new data dir: serve says where it listens and how to make a key; a key created by the
    CLI while the server runs is accepted at once (the server reads keys from the database)."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    from framescout.server.process import free_port

    port = free_port()
    data = tmp_path / "fresh"
    command = [sys.executable, "-m", "framescout", "serve", "--data-dir", str(data), "--port", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"})
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline() + proc.stdout.readline() + proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner and "/ui/" in banner and "/docs" in banner
        assert "framescout keys create --workspace" in banner
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.1)
        created = runner.invoke(app, ["keys", "create", "--workspace", "late", "--data-dir", str(data)])
        key = created.output.strip().splitlines()[-1]
        whoami = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/whoami", headers={"Authorization": f"Bearer {key}"}
        )
        assert whoami.status_code == 200 and whoami.json()["slug"] == "late"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
