"""devices (one row per collector and project: its last heartbeat) and device_heartbeats (a bounded
history of its counters)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 14:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_VERSIONS = (("model_version", 200), ("rules_etag", 200), ("software_version", 100))


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        *(sa.Column(name, sa.DateTime(), nullable=False) for name in ("first_seen", "last_seen")),
        *(sa.Column(name, sa.String(length=size), nullable=True) for name, size in _VERSIONS),
        sa.Column("counters", sa.JSON(), nullable=False),
        _count("spool_entries"),
        _count("spool_bytes"),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("stopped", sa.Boolean(), server_default=sa.false(), nullable=False),
        _count("heartbeats"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "device_id"),
    )
    op.create_table(
        "device_heartbeats",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        *(_count(name) for name in ("seen", "kept", "nothing_detected", "uploaded", "dropped")),
        *(_count(name) for name in ("quarantined", "spool_entries", "spool_bytes")),
        sa.Column("kept_per_rule", sa.JSON(), nullable=False),
        sa.Column("final", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_device_heartbeats_device", "device_heartbeats", ["project_id", "device_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_device_heartbeats_device", table_name="device_heartbeats")
    op.drop_table("device_heartbeats")
    op.drop_table("devices")
