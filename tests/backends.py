"""The two stores a test module can run on: ``sqlite`` (the embedded default: SQLite and ``blobs/`` in a
temp data directory) and ``postgres_s3`` (a fresh database on the session's real PostgreSQL and a fresh
prefix of one bucket on the session's real SeaweedFS S3).

A module opts in with ``pytestmark = pytest.mark.both_backends``: every test in it that uses
`backend` (or a fixture built on it, such as the server ``env`` and ``live`` fixtures) runs once per
store, the same test, not a copy. Elsewhere `backend` is SQLite only (``FRAMESCOUT_TEST_BACKENDS=all``
runs every test that uses it on both). The services start once per
session; a fresh database is a copy of one migrated template (``CREATE DATABASE ... TEMPLATE``), so a
test pays milliseconds for it, not a migration run.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import services
from framescout.store import Store
from framescout.store.datadir import BLOB_URL_ENV, DATABASE_URL_ENV

SQLITE = "sqlite"
POSTGRES_S3 = "postgres_s3"
KINDS = (SQLITE, POSTGRES_S3)
MARKER = "both_backends"
BUCKET = "backends"
TEMPLATE = "framescout_template"
EVERYWHERE = "FRAMESCOUT_TEST_BACKENDS"


@dataclass(frozen=True)
class Backend:
    """Where one test's store lives; ``env`` is what a framescout child process needs to open it."""

    kind: str
    database_url: str | None = None
    blob_url: str | None = None
    aws: Mapping[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """``FRAMESCOUT_DATABASE_URL``, ``FRAMESCOUT_BLOB_URL`` and the ``AWS_*`` variables (none on
        SQLite), for `framescout.server.process.ServerProcess` and admin commands."""
        urls = {DATABASE_URL_ENV: self.database_url, BLOB_URL_ENV: self.blob_url}
        return {**{name: value for name, value in urls.items() if value}, **self.aws}

    def open(self, data_dir: Path) -> Store:
        """The store over ``data_dir`` (its database and blobs elsewhere for ``postgres_s3``)."""
        with environment(self.aws):  # boto3 reads its configuration when the client is made
            return Store.open(data_dir, database_url=self.database_url, blob_url=self.blob_url)


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in ``os.environ`` for the block, the previous values back afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Backends:
    """Makes fresh backends; starts PostgreSQL and SeaweedFS (session fixtures) on first need only."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self._services: tuple[services.Postgres, services.SeaweedS3] | None = None

    def _started(self) -> tuple[services.Postgres, services.SeaweedS3]:
        if self._services is None:
            postgres: services.Postgres = self._request.getfixturevalue("postgres")
            seaweed: services.SeaweedS3 = self._request.getfixturevalue("seaweed")
            services.wait_until_writable(seaweed, BUCKET)
            factory: pytest.TempPathFactory = self._request.getfixturevalue("tmp_path_factory")
            template = postgres.database_url(TEMPLATE)
            Store.open(factory.mktemp("template"), database_url=template).close()  # migrated once
            self._services = postgres, seaweed
        return self._services

    def make(self, kind: str) -> Backend:
        if kind == SQLITE:
            return Backend(SQLITE)
        postgres, seaweed = self._started()
        name = f"t_{uuid.uuid4().hex[:12]}"
        postgres.psql(f'CREATE DATABASE "{name}" OWNER framescout TEMPLATE "{TEMPLATE}"')
        return Backend(
            POSTGRES_S3,
            database_url=postgres.url.rsplit("/", 1)[0] + f"/{name}",
            blob_url=f"s3://{BUCKET}/{name}",
            aws=seaweed.environment(),
        )


def parametrize(metafunc: pytest.Metafunc) -> None:
    """Both kinds for the tests of a ``both_backends`` module that reach `backend_kind` (for every test
    that reaches it when ``FRAMESCOUT_TEST_BACKENDS=all``: a way to look for differences elsewhere)."""
    if "backend_kind" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker(MARKER) or os.environ.get(EVERYWHERE) == "all":
        kinds = [SQLITE, pytest.param(POSTGRES_S3, marks=pytest.mark.slow)]
        metafunc.parametrize("backend_kind", kinds, indirect=True)
