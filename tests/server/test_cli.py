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
