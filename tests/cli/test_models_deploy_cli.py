"""``framescout models deploy`` / ``deployments`` as a user runs them (real processes, a real store)."""

from __future__ import annotations

from pathlib import Path

from framescout.store import Store
from framescout.store.accounts import create_project, get_or_create_workspace, register_model
from helpers import framescout


def _store(root: Path) -> Path:
    store = Store.open(root)
    with store.db.writing() as session:
        project = create_project(session, get_or_create_workspace(session, "acme"), "cams")
        register_model(session, project, 1, "a" * 64, "nanodet", ["person"])
        register_model(session, project, 2, "b" * 64, "nanodet", ["person"])
    store.close()
    return root


def test_deploy_prints_what_is_deployed_and_refuses_unknown_versions(tmp_path: Path) -> None:
    data = str(_store(tmp_path / "d"))
    first = framescout("models", "deploy", "acme/cams", "1", "--data-dir", data)
    assert first.returncode == 0, first.stderr
    assert "deployed acme/cams version 1 to all devices" in first.stdout
    north = framescout("models", "deploy", "acme/cams", "2", "--labels", "site=north", "--data-dir", data)
    assert north.returncode == 0, north.stderr
    now = north.stdout.split("now deployed:")[1]
    assert "version 2 to site=north" in now and "version 1 to all devices" in now

    unknown = framescout("models", "deploy", "acme/cams", "7", "--data-dir", data)
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    errors = [line for line in unknown.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: project 'cams' has no model version 7"]
    bad = framescout("models", "deploy", "acme/cams", "1", "--labels", "site", "--data-dir", data)
    assert bad.returncode == 1 and "error: --labels: label 'site': write it as key=value" in bad.stderr

    rollback = framescout("models", "deploy", "acme/cams", "1", "--labels", "site=north", "--data-dir", data)
    assert rollback.returncode == 0, rollback.stderr
    listing = framescout("models", "deployments", "acme/cams", "--data-dir", data)
    assert listing.returncode == 0, listing.stderr
    rows = [line for line in listing.stdout.splitlines() if "devices" in line or "site=north" in line]
    assert len(rows) == 4  # the header and three deployments, the refused ones not among them
    assert "live" in rows[1] and "site=north" in rows[1]  # newest first: the rollback
