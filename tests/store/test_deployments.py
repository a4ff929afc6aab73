"""Model deployments: the newest deployment a device's labels match wins, history is kept, a rollback is
a new row, and unknown versions or malformed labels are refused with their codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from backends import Backend
from framescout.store import Store
from framescout.store.accounts import create_project, get_or_create_workspace, register_model
from framescout.store.deployments import deploy, deployment_for, effective, list_deployments
from framescout.store.errors import Invalid, NotFound
from framescout.store.models import Project

SHA = {1: "a" * 64, 2: "b" * 64, 3: "c" * 64}


@pytest.fixture
def store(tmp_path: Path, backend: Backend) -> Iterator[Store]:
    store = backend.open(tmp_path / "d")
    with store.db.writing() as session:
        project = create_project(session, get_or_create_workspace(session, "acme"), "cams")
        for version, sha in SHA.items():
            register_model(session, project, version, sha, "nanodet", ["person"])
    yield store
    store.close()


def _project(store: Store) -> Project:
    with store.db.reading() as reading:
        found = reading.scalar(select(Project).where(Project.slug == "cams"))
    assert found is not None
    return found


def _running(store: Store, **labels: str) -> int:
    with store.db.reading() as session:
        return deployment_for(session, _project(store), labels).deployment.version


def _deploy(store: Store, version: int, **labels: str) -> None:
    with store.db.writing() as session:
        deploy(session, _project(store), version, labels, "ops")


def test_the_newest_matching_deployment_wins_and_history_is_kept(store: Store) -> None:
    with store.db.reading() as session, pytest.raises(NotFound) as nothing:
        deployment_for(session, _project(store), {})
    assert nothing.value.code == "no_deployment"
    _deploy(store, 1)
    _deploy(store, 2, site="north")
    assert _running(store) == 1 and _running(store, site="south") == 1
    assert _running(store, site="north") == 2 and _running(store, site="north", cam="3") == 2
    _deploy(store, 3)  # newer and for every device: north follows it too
    assert _running(store, site="north") == 3
    _deploy(store, 2)  # rollback = deploying the previous version again
    assert _running(store) == 2 and _running(store, site="north") == 2
    with store.db.reading() as session:
        rows = list_deployments(session, _project(store))
        found = deployment_for(session, _project(store), {})
        assert found.model.onnx_sha256 == SHA[2]
    assert [(r.version, r.labels) for r in rows] == [(2, {}), (3, {}), (2, {"site": "north"}), (1, {})]
    assert all(r.deployed_by == "ops" for r in rows)
    assert [r.version for r in effective(rows)] == [2]


def test_a_label_deployment_shadowed_only_by_a_broader_newer_one(store: Store) -> None:
    _deploy(store, 1)
    _deploy(store, 2, site="north")
    _deploy(store, 3, site="north", cam="3")  # narrower: does not shadow site=north
    with store.db.reading() as session:
        live = effective(list_deployments(session, _project(store)))
    assert [(r.version, r.labels) for r in live] == [
        (3, {"site": "north", "cam": "3"}),
        (2, {"site": "north"}),
        (1, {}),
    ]
    assert _running(store, site="north", cam="4") == 2 and _running(store, site="north", cam="3") == 3


def test_unknown_versions_and_bad_labels_are_refused(store: Store) -> None:
    with store.db.writing() as session, pytest.raises(NotFound) as unknown:
        deploy(session, _project(store), 9, {}, "ops")
    assert unknown.value.code == "version_not_found"
    with store.db.writing() as session, pytest.raises(Invalid) as bad:
        deploy(session, _project(store), 1, {"site": "north pole"}, "ops")
    assert bad.value.code == "invalid_label" and "site" in bad.value.message
    with store.db.reading() as session:
        assert list_deployments(session, _project(store)) == []
