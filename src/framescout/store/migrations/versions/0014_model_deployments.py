"""model deployments: which model version a project's devices (optionally by label) should run

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-01 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""64-bit on PostgreSQL, SQLite's rowid (``INTEGER PRIMARY KEY``) there (as `store.models.SerialId`)."""


def upgrade() -> None:
    op.create_table(
        "model_deployments",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("deployed_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_model_deployments_project", "model_deployments", ["project_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_model_deployments_project", table_name="model_deployments")
    op.drop_table("model_deployments")
