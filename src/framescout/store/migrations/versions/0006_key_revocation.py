"""key revocation: api_keys.revoked_at and the auth generation counter (with triggers on SQLite)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BUMP = "UPDATE auth_state SET generation = generation + 1 WHERE id = 1"
# Any change that can end a key's or a session's validity moves the generation, even one made with a
# plain SQL client: the API workers see it within their poll interval and drop their caches.
TRIGGERS = {
    "auth_bump_key_delete": f"AFTER DELETE ON api_keys BEGIN {BUMP}; END",
    "auth_bump_key_update": (
        f"AFTER UPDATE OF revoked_at, key_hash, workspace_id ON api_keys BEGIN {BUMP}; END"
    ),
    "auth_bump_session_delete": f"AFTER DELETE ON web_sessions BEGIN {BUMP}; END",
    "auth_bump_session_update": (
        f"AFTER UPDATE OF token_hash, workspace_id, api_key_id, expires_at ON web_sessions BEGIN {BUMP}; END"
    ),
}


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(), nullable=True))
    op.create_table(
        "auth_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO auth_state (id, generation) VALUES (1, 0)")
    if op.get_bind().dialect.name == "sqlite":
        for name, body in TRIGGERS.items():
            op.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("auth_state")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
