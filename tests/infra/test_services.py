"""The real PostgreSQL, SeaweedFS and Redis the scale-out tests run on start (and stop), and framescout's
schema migrates on PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import inspect, text

import services
from framescout.store.db import Database


@pytest.mark.slow
def test_postgres_takes_the_migrations(postgres: services.Postgres) -> None:
    url = postgres.database_url(f"t_{uuid.uuid4().hex[:8]}")
    db = Database.open(url)
    try:
        with db.write_engine.connect() as conn:
            assert conn.execute(text("select version()")).scalar_one().startswith("PostgreSQL")
            tables = set(inspect(conn).get_table_names())
        assert {"workspaces", "projects", "images", "annotations", "alembic_version"} <= tables
    finally:
        db.dispose()


@pytest.mark.slow
def test_seaweed_stores_and_returns_bytes(seaweed: services.SeaweedS3) -> None:
    import boto3

    services.wait_until_writable(seaweed, "smoke")
    client = boto3.client(
        "s3",
        endpoint_url=seaweed.endpoint,
        aws_access_key_id=seaweed.access_key,
        aws_secret_access_key=seaweed.secret_key,
        region_name="us-east-1",
    )
    body = uuid.uuid4().bytes * 1000
    client.put_object(Bucket="smoke", Key="a/b.bin", Body=body)
    assert client.get_object(Bucket="smoke", Key="a/b.bin")["Body"].read() == body


def test_redis_answers_and_stops(redis: services.Redis) -> None:
    """The session's server counts with the `limits` library's Redis storage (what `storage:` builds)."""
    from limits.storage import storage_from_string

    storage = storage_from_string(redis.url)
    key = f"smoke:{uuid.uuid4().hex}"
    assert storage.check() and redis.ping()
    assert storage.incr(key, 60) == 1 and storage.incr(key, 60) == 2


def test_a_stopped_redis_is_gone() -> None:
    server = services.start_redis()
    assert server.ping()
    server.stop()
    assert not server.ping() and not server.root.exists() and server.process.poll() is not None
