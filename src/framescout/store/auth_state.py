"""The auth generation: one counter that moves whenever a key or a web session stops being valid.

Server workers cache key and session lookups; reading this single row (at most every half second)
tells them when to drop those caches, so a revocation is seen by every worker within a second."""

from __future__ import annotations

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from framescout.store.models import AuthState

_ROW = 1


def read_generation(conn: Session | Connection) -> int:
    """The current generation (``-1`` when the row is missing, e.g. deleted by hand)."""
    value = conn.execute(select(AuthState.generation).where(AuthState.id == _ROW)).scalar()
    return int(value) if value is not None else -1


def bump_generation(session: Session) -> None:
    """Move the generation, in the caller's write transaction (so it commits with the change)."""
    moved = session.execute(
        update(AuthState).where(AuthState.id == _ROW).values(generation=AuthState.generation + 1)
    )
    if getattr(moved, "rowcount", 1) == 0:
        session.add(AuthState(id=_ROW, generation=1))
        session.flush()
