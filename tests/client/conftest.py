"""A real ``framescout serve`` process (started once per session) with a workspace key and a project."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from framescout.server.process import ServerProcess


@dataclass
class Live:
    server: ServerProcess
    key: str
    other_key: str


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data = Path(tmp_path_factory.mktemp("client-server"))
    server = ServerProcess(data)
    key = server.create_key("acme")
    other_key = server.create_key("other")
    server.cli("projects", "create", "acme/cams", "--classes", "person,car")
    with server:
        yield Live(server, key, other_key)
