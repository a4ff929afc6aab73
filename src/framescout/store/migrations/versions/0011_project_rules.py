"""project_rules: every version of a project's server-held sampling rules

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SERIAL_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""64-bit on PostgreSQL, SQLite's rowid on SQLite (as `store.models.SerialId`)."""


def upgrade() -> None:
    op.create_table(
        "project_rules",
        sa.Column("id", SERIAL_ID, autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("pushed_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "version"),
    )
    with op.batch_alter_table("project_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_rules_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("project_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_rules_project_id"))
    op.drop_table("project_rules")
