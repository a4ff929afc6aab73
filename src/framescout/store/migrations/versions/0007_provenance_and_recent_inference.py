"""images.observed_at and images.source (filled at ingest), and recent hosted-inference results

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:45:00

``observed_at`` and ``source`` of existing images are filled from their metadata (in Python, so the
same migration runs on SQLite and PostgreSQL); sources that cannot be told apart stay NULL.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("observed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=20), nullable=True))
        batch_op.create_index("ix_images_project_observed", ["project_id", "observed_at"], unique=False)
    op.create_table(
        "recent_inferences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("bytes_sha256", sa.String(length=64), nullable=False),
        sa.Column("pixels_sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("predictions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recent_inferences_bytes", "recent_inferences", ["workspace_id", "bytes_sha256"])
    op.create_index("ix_recent_inferences_size", "recent_inferences", ["workspace_id", "width", "height"])
    op.create_index("ix_recent_inferences_created", "recent_inferences", ["created_at"])
    _backfill()


def _backfill() -> None:
    from framescout.store.provenance import observed_time

    bind = op.get_bind()
    images = sa.table(
        "images",
        sa.column("id", sa.String),
        sa.column("metadata", sa.JSON),
        sa.column("observed_at", sa.DateTime),
        sa.column("source", sa.String),
    )
    last = ""
    while True:
        rows = bind.execute(
            sa.select(images.c.id, images.c.metadata)
            .where(images.c.id > last)
            .order_by(images.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for image_id, metadata in rows:
            meta: dict[str, Any] = metadata if isinstance(metadata, dict) else {}
            said = meta.get("source")
            source = (
                said if said in ("feedback", "bug-report") else ("collector" if "rule_kind" in meta else None)
            )
            observed = observed_time(meta)
            if source is not None or observed is not None:
                bind.execute(
                    images.update().where(images.c.id == image_id).values(observed_at=observed, source=source)
                )
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_recent_inferences_created", table_name="recent_inferences")
    op.drop_index("ix_recent_inferences_size", table_name="recent_inferences")
    op.drop_index("ix_recent_inferences_bytes", table_name="recent_inferences")
    op.drop_table("recent_inferences")
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index("ix_images_project_observed")
        batch_op.drop_column("source")
        batch_op.drop_column("observed_at")
