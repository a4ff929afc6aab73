"""The store: migrations at open, SQLite WAL, hashed keys, the content-addressed blob store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from backends import Backend
from framescout.imaging import sha256_hex
from framescout.store import Invalid, LocalBlobStore, Store
from framescout.store.accounts import create_key, get_or_create_workspace, slugify, workspace_for_key
from framescout.store.models import ApiKey


def _head_revision() -> str:
    """The newest migration shipped in the package."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import framescout.store.migrations as migrations

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_open_migrates_and_uses_wal(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "d")
    assert store.created
    store.close()
    again = Store.open(tmp_path / "d")  # idempotent
    assert not again.created
    again.close()
    with sqlite3.connect(tmp_path / "d" / "framescout.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == _head_revision()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "workspaces",
        "api_keys",
        "projects",
        "images",
        "image_tags",
        "annotations",
        "batches",
        "dataset_versions",
    } <= tables


@pytest.mark.both_backends
def test_keys_are_stored_hashed_and_resolve_to_their_workspace(tmp_path: Path, backend: Backend) -> None:
    store = backend.open(tmp_path)
    with store.db.writing() as session:
        key = create_key(session, get_or_create_workspace(session, "Team A"))
    with store.db.reading() as session:
        row = session.scalars(select(ApiKey)).one()
        assert key not in (row.key_hash, row.prefix) and row.key_hash == sha256_hex(key.encode())
        workspace = workspace_for_key(session, key)
        assert workspace is not None and workspace.slug == "team-a"
        assert workspace_for_key(session, key + "x") is None
    assert any(c.islower() for c in key)  # roboflow treats all-upper-case keys as placeholders
    store.close()


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "docs", "x" * 80, "dataset"])
def test_slugs_refuse_path_tricks_and_reserved_names(bad: str) -> None:
    with pytest.raises(Invalid):
        slugify(bad)


def test_blob_store_is_content_addressed_and_atomic(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    sha, created = blobs.put(b"hello")
    assert created and sha == sha256_hex(b"hello")
    assert blobs.path(sha) == tmp_path / "blobs" / sha[:2] / sha[2:4] / sha
    assert blobs.put(b"hello") == (sha, False)
    assert blobs.get(sha) == b"hello" and blobs.iter_hashes() == [sha]
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []  # no temp files left behind
    blobs.delete(sha)
    assert not blobs.exists(sha)
    with pytest.raises(KeyError):
        blobs.get("../../etc/passwd")


def test_migration_0002_marks_projects_with_classes_strict(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from framescout.store.db import MIGRATIONS

    engine = create_engine(f"sqlite:///{tmp_path / 'framescout.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(text("INSERT INTO workspaces VALUES ('w', 'w', 'w', '2026-01-01')"))
        for pid, classes in (("p1", '["a"]'), ("p2", "[]")):
            conn.execute(
                text(
                    "INSERT INTO projects VALUES "
                    "(:id, 'w', :id, :id, 'object-detection', :c, '2026-01-01', '2026-01-01')"
                ),
                {"id": pid, "c": classes},
            )
    engine.dispose()
    store = Store.open(tmp_path)  # applies 0002 at open
    with store.db.reading() as session:
        from framescout.store.models import Project

        strict = {p.slug: p.strict_classes for p in session.scalars(select(Project))}
    assert strict == {"p1": True, "p2": False}
    store.close()


@pytest.mark.both_backends
def test_migrations_build_exactly_the_tables_the_code_declares(tmp_path: Path, backend: Backend) -> None:
    """Alembic's autogenerate finds nothing to add: the shipped migrations match `store.models`."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from framescout.store.models import Base

    store = backend.open(tmp_path / "d")
    try:
        with store.db.read_engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        store.close()
    assert diff == []
