"""Browser sign-in sessions: an API key is exchanged for a random session token (cookie) with its own
CSRF token. Only the token's hash is stored, like API keys; deleting the key ends its sessions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from framescout.store.keys import hash_key
from framescout.store.models import ApiKey, WebSession, Workspace, utcnow

SESSION_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class SignedIn:
    """Who is behind a browser session."""

    workspace: Workspace
    reviewer: str
    csrf_token: str


def sign_in(session: Session, key: str, reviewer: str = "") -> tuple[str, SignedIn] | None:
    """A new session token for a valid API key (``None`` when the key is unknown).

    ``reviewer`` names the person for "reviewed by"; it defaults to the key's label or prefix."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None:
        return None
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    who = reviewer.strip()[:200] or row.name or f"key {row.prefix}…"
    web = WebSession(
        token_hash=hash_key(token),
        workspace_id=row.workspace_id,
        api_key_id=row.id,
        reviewer=who,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(web)
    session.flush()
    return token, SignedIn(row.workspace, who, web.csrf_token)


def resolve(session: Session, token: str) -> SignedIn | None:
    """The live session behind a cookie token, or ``None`` (unknown or expired)."""
    web = session.get(WebSession, hash_key(token))
    if web is None or web.expires_at < utcnow():
        return None
    return SignedIn(web.workspace, web.reviewer, web.csrf_token)


def sign_out(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == hash_key(token)))
