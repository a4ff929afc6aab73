"""On PostgreSQL too, a key or web session deleted or edited with a plain SQL client (not framescout)
moves the auth generation, so every server host drops its cached key lookups (migration 0009)."""

from __future__ import annotations

import secrets
from pathlib import Path

import psycopg
import pytest

import services
from framescout.store import Store
from framescout.store.accounts import add_key, get_or_create_workspace
from framescout.store.auth_state import read_generation
from framescout.store.web_sessions import sign_in


@pytest.mark.slow
def test_psql_edits_of_keys_and_sessions_move_the_generation(
    postgres: services.Postgres, tmp_path: Path
) -> None:
    url = postgres.database_url(f"triggers_{secrets.token_hex(4)}")
    store = Store.open(tmp_path / "d", database_url=url)
    try:
        with store.db.writing() as session:
            ws = get_or_create_workspace(session, "acme")
            (first, _), (second, second_key) = add_key(session, ws), add_key(session, ws)
            first_id, second_id = first.id, second.id
            assert sign_in(session, second_key) is not None
        plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
        for statement in (
            f"UPDATE api_keys SET revoked_at = now() WHERE id = '{second_id}'",
            "DELETE FROM web_sessions",
            f"DELETE FROM api_keys WHERE id = '{first_id}'",
            "UPDATE api_keys SET key_hash = key_hash WHERE false",  # no row: still a statement
        ):
            with store.db.read_engine.connect() as conn:
                before = read_generation(conn)
            with psycopg.connect(plain, autocommit=True) as client:
                client.execute(statement)
            with store.db.read_engine.connect() as conn:
                assert read_generation(conn) > before, statement
        with psycopg.connect(plain, autocommit=True) as client:
            before_insert = client.execute("SELECT generation FROM auth_state").fetchone()
            client.execute("UPDATE workspaces SET name = name")  # not an auth table: no move
            assert client.execute("SELECT generation FROM auth_state").fetchone() == before_insert
    finally:
        store.close()
