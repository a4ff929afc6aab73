"""label assist: one row per image the server pre-labels (claim, state, model version, error)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 15:10:00

The row is the claim (its primary key is the image, so two workers cannot both hold one image) and
the record the review page shows ("pre-labelled by the server with model v3", or why it failed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_assist",
        sa.Column("image_id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("boxes", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["image_id"], ["images.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("image_id"),
    )
    op.create_index("ix_label_assist_project_state", "label_assist", ["project_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_label_assist_project_state", table_name="label_assist")
    op.drop_table("label_assist")
