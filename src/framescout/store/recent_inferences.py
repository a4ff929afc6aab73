"""The ``recent_inferences`` table: hosted-inference answers kept for a short window, so that an
upload of the same image can get them as pre-labels (the policy is `framescout.server.prelabels`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select

from framescout.store.db import Database
from framescout.store.models import RecentInference, Workspace


def keep_answer(db: Database, row: dict[str, Any], *, expire_before: datetime, max_rows: int) -> None:
    """Insert one answer (``row``: the table's columns), delete those created before
    ``expire_before``, and keep at most the newest ``max_rows``."""
    with db.write_engine.begin() as conn:
        conn.execute(delete(RecentInference).where(RecentInference.created_at < expire_before))
        newest = conn.execute(insert(RecentInference).values(row)).inserted_primary_key
        if newest is not None and int(newest[0]) > max_rows:
            conn.execute(delete(RecentInference).where(RecentInference.id <= int(newest[0]) - max_rows))


def recent_answers(
    db: Database, workspace: Workspace, *, bytes_sha256: str, width: int, height: int, since: datetime
) -> list[RecentInference]:
    """The newest 50 answers in ``workspace`` since ``since`` for these bytes or for an image of
    this size (the caller compares the pixels), newest first."""
    query = (
        select(RecentInference)
        .where(
            RecentInference.workspace_id == workspace.id,
            RecentInference.created_at >= since,
            or_(
                RecentInference.bytes_sha256 == bytes_sha256,
                (RecentInference.width == width) & (RecentInference.height == height),
            ),
        )
        .order_by(RecentInference.created_at.desc(), RecentInference.id.desc())
        .limit(50)
    )
    with db.reading() as session:
        return list(session.scalars(query))


def count_answers(db: Database) -> int:
    """Rows in the table (tests and diagnostics)."""
    with db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(RecentInference)) or 0)
