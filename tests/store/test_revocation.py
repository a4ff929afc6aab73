"""Key revocation in the store: revoked keys are kept but never authenticate, their web sessions end,
and the auth generation moves on revocation and on any direct delete or edit of keys and sessions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from backends import Backend
from framescout.store import NotFound, Store
from framescout.store.accounts import (
    add_key,
    get_or_create_workspace,
    list_keys,
    revoke_key,
    workspace_for_key,
)
from framescout.store.auth_state import read_generation
from framescout.store.models import ApiKey, WebSession
from framescout.store.web_sessions import resolve, sign_in


@pytest.fixture
def store(tmp_path: Path, backend: Backend) -> Iterator[Store]:
    store = backend.open(tmp_path / "d")
    yield store
    store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(tmp_path / "d")
    yield store
    store.close()


def _generation(store: Store) -> int:
    with store.db.read_engine.connect() as conn:
        return read_generation(conn)


@pytest.mark.both_backends
def test_revoked_key_is_listed_but_never_authenticates_and_its_sessions_end(store: Store) -> None:
    with store.db.writing() as session:
        ws = get_or_create_workspace(session, "acme")
        other = get_or_create_workspace(session, "other")
        row, key = add_key(session, ws, "camera 1")
        spare_row, spare = add_key(session, ws, "spare")
        spare_id = spare_row.id
        _, foreign = add_key(session, other)
        key_id = row.id
    with store.db.writing() as session:
        signed = sign_in(session, key, "Alice")
        spare_signed = sign_in(session, spare, "Bob")
    assert signed is not None and spare_signed is not None
    token = signed[0]
    before = _generation(store)

    with store.db.writing() as session:
        with pytest.raises(NotFound) as wrong_ws:
            revoke_key(session, key_id, get_or_create_workspace(session, "other"))
        assert wrong_ws.value.code == "key_not_found"
    with store.db.writing() as session:
        revoked = revoke_key(session, key_id, get_or_create_workspace(session, "acme"))
        first_revoked_at = revoked.revoked_at
    assert first_revoked_at is not None
    assert _generation(store) > before

    with store.db.reading() as session:
        assert workspace_for_key(session, key) is None
        assert (
            workspace_for_key(session, spare) is not None and workspace_for_key(session, foreign) is not None
        )
        assert resolve(session, token) is None  # the session row is gone
        assert resolve(session, spare_signed[0]) is not None  # other keys' sessions are untouched
        assert session.scalars(select(WebSession).where(WebSession.api_key_id == key_id)).all() == []
        listed = {k.id: k for k in list_keys(session, get_or_create_workspace(session, "acme"))}
        assert set(listed) == {key_id, spare_id}  # only acme's keys
        assert listed[key_id].revoked_at == first_revoked_at
        assert len(list_keys(session)) == 3
    with store.db.writing() as session:
        assert sign_in(session, key) is None  # a revoked key cannot sign in again
        again = revoke_key(session, key_id)  # idempotent: the first revocation time stays
        assert again.revoked_at == first_revoked_at
    with store.db.writing() as session, pytest.raises(NotFound):
        revoke_key(session, "no-such-key")


def test_direct_sql_deletes_and_edits_move_the_generation(sqlite_store: Store) -> None:
    """Triggers: a key deleted (or revoked) with a plain SQL client is noticed like a CLI revocation
    (SQLite's triggers; PostgreSQL's: tests/store/test_postgres_auth_triggers.py)."""
    store = sqlite_store
    with store.db.writing() as session:
        ws = get_or_create_workspace(session, "acme")
        row, key = add_key(session, ws)
        other_row, other_key = add_key(session, ws)
        key_id, other_id = row.id, other_row.id
    with store.db.writing() as session:
        signed = sign_in(session, other_key)
    assert signed is not None
    db = store.data_dir / "framescout.db"
    steps = [
        f"DELETE FROM api_keys WHERE id = '{key_id}'",
        f"UPDATE api_keys SET revoked_at = '2026-01-01 00:00:00' WHERE id = '{other_id}'",
        "DELETE FROM web_sessions",
    ]
    for statement in steps:
        before = _generation(store)
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(statement)
        conn.commit()
        conn.close()
        assert _generation(store) > before, statement
    with store.db.reading() as session:
        assert workspace_for_key(session, key) is None and workspace_for_key(session, other_key) is None
        assert resolve(session, signed[0]) is None
        assert session.get(ApiKey, key_id) is None
