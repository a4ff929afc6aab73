"""The backend fixture gives what it says: SQLite + a blobs/ directory, or PostgreSQL + an S3 prefix
of its own (so a both_backends test that passes twice really ran on both stores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import POSTGRES_S3, SQLITE, Backend
from framescout.store import LocalBlobStore
from framescout.store.s3_blobs import S3BlobStore

pytestmark = pytest.mark.both_backends


def test_the_store_is_the_kind_named(backend: Backend, tmp_path: Path) -> None:
    store = backend.open(tmp_path / "data")
    try:
        digest, created = store.blobs.put(b"where am I")
        assert created and store.blobs.iter_hashes() == [digest]  # a fresh blob store per test
        dialect = store.db.write_engine.dialect.name
        if backend.kind == SQLITE:
            assert dialect == "sqlite" and isinstance(store.blobs, LocalBlobStore)
            assert (tmp_path / "data" / "framescout.db").exists()
        else:
            assert backend.kind == POSTGRES_S3 and dialect == "postgresql"
            assert isinstance(store.blobs, S3BlobStore) and store.blobs.prefix
            assert not (tmp_path / "data" / "framescout.db").exists()
            assert not list((tmp_path / "data").rglob(digest))  # the bytes are not on this disk
    finally:
        store.close()


def test_child_processes_get_the_same_store(backend: Backend) -> None:
    names = {"FRAMESCOUT_DATABASE_URL", "FRAMESCOUT_BLOB_URL", "AWS_ENDPOINT_URL"}
    assert (names <= set(backend.env)) == (backend.kind == POSTGRES_S3)
