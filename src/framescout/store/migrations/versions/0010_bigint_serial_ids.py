"""64-bit ids for the two tables with database-generated keys, on PostgreSQL

``annotations.id`` and ``recent_inferences.id`` were plain ``Integer`` keys: 64-bit rowids on SQLite, but
32-bit ``SERIAL`` on PostgreSQL, where a busy install (one pre-label row per hosted inference) would run
out of ids. SQLite keeps ``INTEGER PRIMARY KEY`` (its rowid, already 64-bit).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 13:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("annotations", "recent_inferences")


def _retype(kind: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN id TYPE {kind}")
        op.execute(f"ALTER SEQUENCE IF EXISTS {table}_id_seq AS {kind}")


def upgrade() -> None:
    _retype("bigint")


def downgrade() -> None:
    _retype("integer")
