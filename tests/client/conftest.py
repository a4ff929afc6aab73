"""A real ``framescout serve`` process (started once per session) with a workspace key and a project."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backends import Backends
from framescout.server.process import ServerProcess


@dataclass
class Live:
    server: ServerProcess
    key: str
    other_key: str


@pytest.fixture(scope="session")
def live(
    tmp_path_factory: pytest.TempPathFactory, backend_kind: str, backend_factory: Backends
) -> Iterator[Live]:
    """One server per store kind (`backends`): SQLite, and PostgreSQL + S3 in ``both_backends`` tests."""
    data = Path(tmp_path_factory.mktemp("client-server"))
    server = ServerProcess(data, env=backend_factory.make(backend_kind).env)
    key = server.create_key("acme")
    other_key = server.create_key("other")
    server.cli("projects", "create", "acme/cams", "--classes", "person,car")
    with server:
        yield Live(server, key, other_key)
