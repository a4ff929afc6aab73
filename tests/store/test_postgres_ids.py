"""On PostgreSQL the database-generated keys are 64-bit (migration 0010): a 32-bit ``SERIAL`` would run out
on a busy install (one ``recent_inferences`` row per hosted inference)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

import services
from framescout.store.db import Database

pytestmark = pytest.mark.slow


def test_generated_ids_are_64_bit_on_postgresql(postgres: services.Postgres) -> None:
    db = Database.open(postgres.database_url(f"ids_{uuid.uuid4().hex[:8]}"))
    try:
        with db.write_engine.connect() as conn:
            for table in ("annotations", "recent_inferences"):
                kind = conn.execute(
                    text(
                        "SELECT data_type FROM information_schema.columns "
                        "WHERE table_name = :t AND column_name = 'id'"
                    ),
                    {"t": table},
                ).scalar_one()
                assert kind == "bigint", (table, kind)
                ceiling = conn.execute(
                    text("SELECT max_value FROM pg_sequences WHERE sequencename = :s"),
                    {"s": f"{table}_id_seq"},
                ).scalar_one()
                assert ceiling > 2**31, (table, ceiling)
    finally:
        db.dispose()
