"""Browser sign-in sessions: an API key is exchanged for a random session token (cookie) with its own
CSRF token. Only the token's hash is stored, like API keys; revoking or deleting the key ends its
sessions (their rows are deleted, and a session of a revoked key never resolves)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from framescout.store.accounts import active_key
from framescout.store.keys import hash_key
from framescout.store.models import ApiKey, WebSession, Workspace, utcnow

SESSION_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class SignedIn:
    """Who is behind a browser session."""

    workspace: Workspace
    reviewer: str
    csrf_token: str
    expires_at: datetime | None = None


def sign_in(session: Session, key: str, reviewer: str = "") -> tuple[str, SignedIn] | None:
    """A new session token for a valid API key (``None`` when the key is unknown).

    ``reviewer`` names the person for "reviewed by"; it defaults to the key's label or prefix."""
    row = active_key(session, key)
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
    return token, SignedIn(row.workspace, who, web.csrf_token, web.expires_at)


def resolve(session: Session, token: str) -> SignedIn | None:
    """The live session behind a cookie token, or ``None`` (unknown, expired, or its key revoked)."""
    web = session.get(WebSession, hash_key(token))
    if web is None or web.expires_at < utcnow():
        return None
    key = session.get(ApiKey, web.api_key_id)
    if key is None or key.revoked_at is not None:
        return None
    return SignedIn(web.workspace, web.reviewer, web.csrf_token, web.expires_at)


def sign_out(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == hash_key(token)))
