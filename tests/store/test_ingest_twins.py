"""Two identical uploads at once, one of which fails after writing the blob: the failed one may remove
the blob only if the other has not yet written it for its own row. On SQLite every writer is serialised
by ``BEGIN IMMEDIATE``; on PostgreSQL (with S3) by the hash's advisory lock (`store.hash_locks`). Either
way the surviving row's blob exists."""

from __future__ import annotations

import io
import secrets
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Connection, select, text

import services
from framescout.imaging import sha256_hex
from framescout.store import Store
from framescout.store.accounts import create_project, get_or_create_workspace
from framescout.store.hash_locks import lock_hashes, lock_key
from framescout.store.ingest import ImageFields, ingest_image
from framescout.store.models import Image as ImageRow

BUCKET = "ingest-twins"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store on SQLite + files, or on a real PostgreSQL + SeaweedFS bucket."""
    if request.param == "sqlite":
        opened = Store.open(tmp_path / "data")
    else:
        postgres: services.Postgres = request.getfixturevalue("postgres")
        seaweed: services.SeaweedS3 = request.getfixturevalue("seaweed")
        services.wait_until_writable(seaweed, BUCKET)
        monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
        for name, value in {**seaweed.environment(), "AWS_ENDPOINT_URL_S3": seaweed.endpoint}.items():
            monkeypatch.setenv(name, value)
        opened = Store.open(
            tmp_path / "data",
            database_url=postgres.database_url(f"twins_{secrets.token_hex(4)}"),
            blob_url=f"s3://{BUCKET}/{uuid.uuid4().hex[:8]}",
        )
    try:
        yield opened
    finally:
        opened.close()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (12, 200, 90)).save(out, format="JPEG")
    return out.getvalue()


def test_a_failing_twin_does_not_remove_the_blob_of_the_one_that_commits(store: Store) -> None:
    with store.db.writing() as session:
        project = create_project(session, get_or_create_workspace(session, "acme"), "cams")
    data, failing_wrote, committing_wrote, failing_done = (
        _jpeg(),
        threading.Event(),
        threading.Event(),
        threading.Event(),
    )
    errors: list[BaseException] = []

    def fail_after_writing(conn: Connection, image_id: str, duplicate: bool) -> None:
        failing_wrote.set()
        committing_wrote.wait(2)  # without the lock the twin gets here now, its blob "already there"
        raise RuntimeError("the attach hook fails")

    def commit_late(conn: Connection, image_id: str, duplicate: bool) -> None:
        committing_wrote.set()
        failing_done.wait(10)  # let the failed one clean up first, then commit

    def failing() -> None:
        try:
            ingest_image(
                store.db, store.blobs, project, data, ImageFields(name="a.jpg"), attach=fail_after_writing
            )
        except RuntimeError:
            pass
        finally:
            failing_done.set()

    def committing() -> None:
        try:
            failing_wrote.wait(10)
            result = ingest_image(
                store.db, store.blobs, project, data, ImageFields(name="b.jpg"), attach=commit_late
            )
            assert not result.duplicate
        except BaseException as exc:  # reported below, from the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=failing), threading.Thread(target=committing)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with store.db.reading() as session:
        assert list(session.scalars(select(ImageRow.name))) == ["b.jpg"]
    assert store.blobs.get(sha256_hex(data)) == data  # the surviving row's bytes are there


def test_lock_keys_are_signed_64_bit_and_differ_per_hash() -> None:
    keys = {lock_key(sha256_hex(i.to_bytes(2, "big"))) for i in range(1000)}
    assert len(keys) == 1000
    assert all(-(2**63) <= k < 2**63 for k in keys)


def test_a_session_holding_a_hash_lock_excludes_others_until_it_ends(store: Store) -> None:
    """What ``doctor --fix`` takes on a Session before re-checking orphans (`store.repair`)."""
    sha = sha256_hex(b"orphan")
    try_lock = text("SELECT pg_try_advisory_xact_lock(:key)")
    with store.db.writing() as session:
        lock_hashes(session, [sha, sha])
        if store.db.url.startswith("postgresql"):
            with store.db.write_engine.begin() as other:
                assert other.execute(try_lock, {"key": lock_key(sha)}).scalar() is False
                assert other.execute(try_lock, {"key": lock_key(sha256_hex(b"other"))}).scalar() is True
    if store.db.url.startswith("postgresql"):
        with store.db.write_engine.begin() as other:
            assert other.execute(try_lock, {"key": lock_key(sha)}).scalar() is True
