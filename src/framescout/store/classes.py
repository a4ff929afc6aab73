"""The project's class list as uploads and annotations teach it new names (inside their write
transaction, capped by `ClassLimits`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from framescout.store.accounts import ClassLimits, new_classes
from framescout.store.errors import NotFound
from framescout.store.models import (
    Project,
    utcnow,
)
from framescout.store.validation import (
    unknown_classes,
)


def learn_new_classes(conn: Connection, project: Project, names: Sequence[str], limits: ClassLimits) -> None:
    """Inside the write transaction: re-read the project's classes and append the new ones.

    The read locks the project's row (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
    already serialises writers), so two uploads teaching classes at once, through any hosts, each
    see the other's classes: none is overwritten and the class caps hold for their sum.

    Sets, not list scans, and only the class list is rewritten (capped by ``limits``), so this
    stays a few milliseconds however many boxes or classes the request carries."""
    row = conn.execute(
        select(Project.classes, Project.strict_classes).where(Project.id == project.id).with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFound("project_not_found", f"project {project.slug!r} no longer exists")
    current: list[str] = list(row.classes)
    if row.strict_classes:
        known = set(current)
        unknown = sorted({n for n in names if n not in known})
        if unknown:
            raise unknown_classes(unknown, Project(slug=project.slug, classes=current))
        return
    new = new_classes(current, names, limits)
    if new:
        conn.execute(
            update(Project)
            .where(Project.id == project.id)
            .values(classes=[*current, *new], updated_at=utcnow())
        )


def current_classes(session: Session, project: Project) -> list[str]:
    """The project's class list as the database has it now (a cached `Project` may be a few seconds
    old; another host may have taught it a class since): for what indexes classes by position."""
    classes = session.scalar(select(Project.classes).where(Project.id == project.id))
    if classes is None:
        raise NotFound("project_not_found", f"project {project.slug!r} no longer exists")
    return list(classes)
