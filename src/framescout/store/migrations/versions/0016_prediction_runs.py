"""prediction runs: which model versions predicted an image (even when they found nothing), and who

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 15:15:00

An image keeps predictions of several model versions (issue 15). A version that found nothing on a
frame leaves no annotation rows, yet it did predict the frame: ``framescout models predict`` must not
run it again when resumed, and an evaluation must count the frame's ground truth as missed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_runs",
        sa.Column("image_id", sa.String(length=32), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=False),
        sa.Column("boxes", sa.Integer(), nullable=False),
        sa.Column("made_by", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["image_id"], ["images.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("image_id", "model_version"),
    )


def downgrade() -> None:
    op.drop_table("prediction_runs")
