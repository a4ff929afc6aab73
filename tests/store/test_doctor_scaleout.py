"""``framescout doctor --database-url … --blob-url s3://…`` on a real PostgreSQL and a real SeaweedFS:
a clean store is healthy; an object put straight into the bucket (what an upload whose database
transaction failed leaves) is an orphan, kept under the grace period and removed by ``--fix`` after it;
an object deleted from the bucket is a missing blob named with the images that use it; an object
overwritten with other bytes is found by the re-hash (and not with ``--no-rehash``); an unreachable
database and a schema at another revision are reported, never a traceback."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

import services
from framescout.export.versions import create_version
from framescout.imaging import sha256_hex
from framescout.store import Store
from framescout.store.accounts import (
    create_project,
    get_or_create_workspace,
    get_project,
    get_workspace,
    register_model,
)
from framescout.store.datadir import BLOB_URL_ENV, DATABASE_URL_ENV
from framescout.store.ingest import ImageFields, ingest_image
from framescout.store.s3_blobs import S3BlobStore
from helpers import framescout, jpeg

pytestmark = pytest.mark.slow

BUCKET = "doctor-tests"


@dataclass
class Planted:
    url: str
    s3: S3BlobStore
    images: dict[str, str]  # sha256 -> image id
    manifest: str
    url_data_dir: Any


@pytest.fixture(scope="module")
def bucket(seaweed: services.SeaweedS3) -> services.SeaweedS3:
    services.wait_until_writable(seaweed, BUCKET)
    return seaweed


@pytest.fixture
def planted(
    postgres: services.Postgres, bucket: services.SeaweedS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> Planted:
    """Four images and a dataset version in a fresh database and a fresh prefix of the bucket; this
    process (and the ``framescout`` processes it starts) configured for them through the environment."""
    name = f"doctor_{uuid.uuid4().hex[:8]}"
    url = postgres.database_url(name)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    for key, value in bucket.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    monkeypatch.setenv(BLOB_URL_ENV, f"s3://{BUCKET}/{name}")
    monkeypatch.setenv("FRAMESCOUT_DATA_DIR", str(tmp_path / "data"))
    store = Store.open(tmp_path / "data")
    assert isinstance(store.blobs, S3BlobStore)
    with store.db.writing() as session:
        project = create_project(session, get_or_create_workspace(session, "acme"), "cams")
    images = {}
    for seed in range(4):
        result = ingest_image(store.db, store.blobs, project, jpeg(seed), ImageFields())
        images[result.sha256] = result.id
    version = create_version(store, "acme", "cams", "v1", include_unlabelled=True)
    store.close()
    return Planted(url, store.blobs, images, version.manifest_sha256, tmp_path / "data")


def doctor(*args: str) -> tuple[int, dict[str, Any]]:
    done = framescout("doctor", "--json", *args)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def test_a_clean_scale_out_store_is_healthy(planted: Planted) -> None:
    code, report = doctor()
    assert code == 0, report
    db = report["database"]
    assert db["ok"] and db["backend"] == "postgresql" and db["revision"]
    assert "framescout-test@" not in db["path"]  # the password is not printed
    assert report["blobs_checked"] == len(planted.images) + 1  # the images and the version's manifest
    assert report["bytes_hashed"] > 0 and report["missing"] == [] and report["orphans"] == []
    text = framescout("doctor")
    assert text.returncode == 0, text.stdout + text.stderr
    assert "postgresql" in text.stdout and "healthy" in text.stdout


def test_an_orphan_object_is_kept_under_the_grace_period_then_removed_by_fix(planted: Planted) -> None:
    orphan = b"an upload whose database transaction failed"
    sha = sha256_hex(orphan)
    planted.s3.client.put_object(Bucket=BUCKET, Key=planted.s3.key(sha), Body=orphan)
    # Under an hour's grace the object is young (maybe an upload in flight), however long the CLI
    # takes to start on a loaded machine; past a one-second grace it is an orphan to remove.
    code, report = doctor("--fix", "--grace", "3600")
    assert code == 0, report
    assert [o["path"] for o in report["orphans"]] == [f"s3://{BUCKET}/{planted.s3.key(sha)}"]
    assert not report["orphans"][0]["removed"] and planted.s3.exists(sha)
    time.sleep(2)
    code, report = doctor("--grace", "1")
    assert code == 1 and any("--fix" in line for line in report["advice"])
    code, report = doctor("--fix", "--grace", "1")
    assert report["orphans"][0]["removed"] and not planted.s3.exists(sha)
    assert code == 0, report
    for image_sha in (*planted.images, planted.manifest):  # nothing referenced went
        assert planted.s3.exists(image_sha)
    code, report = doctor()
    assert code == 0 and report["orphans"] == []


def test_a_deleted_object_is_a_missing_blob_named_with_its_images(planted: Planted) -> None:
    sha, image_id = sorted(planted.images.items())[0]
    planted.s3.client.delete_object(Bucket=BUCKET, Key=planted.s3.key(sha))
    code, report = doctor("--fix", "--grace", "0")
    assert code == 1 and not report["healthy"]
    (missing,) = report["missing"]
    assert missing["sha256"] == sha and not missing["corrupt"]
    assert f"image cams/{image_id}" in missing["referenced_by"]
    assert "dataset version cams@v1" in missing["referenced_by"]
    assert any("re-upload" in line for line in report["advice"])
    text = framescout("doctor")
    assert text.returncode == 1 and f"{sha} missing; used by image cams/{image_id}" in text.stdout


def test_an_overwritten_object_is_found_by_the_rehash(planted: Planted) -> None:
    sha, image_id = sorted(planted.images.items())[1]
    planted.s3.client.put_object(Bucket=BUCKET, Key=planted.s3.key(sha), Body=b"other bytes")
    code, report = doctor()
    assert code == 1
    (corrupt,) = report["missing"]
    assert corrupt["sha256"] == sha and corrupt["corrupt"]
    assert f"image cams/{image_id}" in corrupt["referenced_by"]
    code, report = doctor("--fix", "--grace", "0")
    assert code == 1 and planted.s3.exists(sha)  # a referenced object is never removed, corrupt or not
    code, report = doctor("--no-rehash")
    assert code == 0 and report["bytes_hashed"] == 0  # only existence was checked


def test_an_unreachable_database_or_another_schema_is_reported(
    planted: Planted, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(planted.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0008'"))
    engine.dispose()
    code, report = doctor()
    assert code == 1 and not report["database"]["ok"]
    assert "revision 0008" in report["database"]["error"]
    assert report["blobs_checked"] == 0  # nothing is built on a schema of another version

    (port,) = services.free_ports(1)
    monkeypatch.setenv(DATABASE_URL_ENV, f"postgresql+psycopg://framescout:x@127.0.0.1:{port}/framescout")
    done = framescout("doctor")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "cannot check postgresql+psycopg://framescout:***@127.0.0.1" in done.stdout


def test_a_model_file_in_the_bucket_is_referenced_not_an_orphan(planted: Planted) -> None:
    """`models add` puts model files in a shared bucket; doctor must neither remove them as orphans nor
    call them missing on a host that has not cached them in its models/ yet."""
    model = b"stand-in bytes of a registered model file"
    sha, created = planted.s3.put(model)
    assert created
    store = Store.open(planted.url_data_dir)
    with store.db.writing() as session:
        project = get_project(session, get_workspace(session, "acme"), "cams")
        register_model(session, project, 1, sha, "nanodet", ["person"])
    store.close()
    code, report = doctor("--fix", "--grace", "0")
    assert code == 0, report
    assert report["orphans"] == [] and report["missing"] == [] and planted.s3.exists(sha)
