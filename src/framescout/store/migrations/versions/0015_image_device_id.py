"""images: an index on (project_id, device_id, created_at) for filtering and summing by device

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 14:20:00

``images.device_id`` exists since the first schema; the fleet (issue 14) filters the image browser by
device, splits the dashboard's kept-frames chart by device and reads each device's latest uploads on
the Devices page, all within one project, newest first.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.create_index("ix_images_project_device", ["project_id", "device_id", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index("ix_images_project_device")
