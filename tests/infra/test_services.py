"""The real PostgreSQL and SeaweedFS the scale-out tests run on start, and framescout's schema migrates on
PostgreSQL."""

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
