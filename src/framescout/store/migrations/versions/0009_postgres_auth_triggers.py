"""auth generation triggers on PostgreSQL too (0006 made them on SQLite only)

A key or web session deleted or edited with a plain SQL client (psql) moves the auth generation, so every
API worker on every host drops its cached lookups within its poll interval, as on SQLite. Statement-level
triggers: one ``DELETE FROM web_sessions`` moves the generation once, however many rows it removes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FUNCTION = "framescout_auth_bump"
TRIGGERS = {
    "auth_bump_key_delete": "AFTER DELETE ON api_keys",
    "auth_bump_key_update": "AFTER UPDATE OF revoked_at, key_hash, workspace_id ON api_keys",
    "auth_bump_session_delete": "AFTER DELETE ON web_sessions",
    "auth_bump_session_update": (
        "AFTER UPDATE OF token_hash, workspace_id, api_key_id, expires_at ON web_sessions"
    ),
}


def _table(event: str) -> str:
    return event.rsplit(" ON ", 1)[1]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has had its triggers since 0006
    op.execute(
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE auth_state SET generation = generation + 1 WHERE id = 1; RETURN NULL; END $$"
    )
    for name, event in TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {_table(event)}")
        op.execute(f"CREATE TRIGGER {name} {event} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, event in TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {_table(event)}")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
