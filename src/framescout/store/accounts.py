"""Workspaces, API keys, projects and model versions: create and look up (used by the CLI and the API)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from framescout.store.auth_state import bump_generation
from framescout.store.errors import Conflict, Invalid, NotFound
from framescout.store.keys import display_prefix, generate_key, hash_key
from framescout.store.models import ApiKey, ModelVersion, Project, WebSession, Workspace, utcnow

PROJECT_TYPES = ("object-detection",)
RESERVED_SLUGS = frozenset({"api", "dataset", "docs", "redoc", "openapi.json", "healthz", "static", "ui"})
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_CLASS_NAME = 200
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
"""Control, zero-width and bidirectional-override characters: never part of a label a person reads."""
MAX_CLASSES_PER_PROJECT = 10_000
MAX_NEW_CLASSES_PER_REQUEST = 1_000


@dataclass(frozen=True)
class ClassLimits:
    """How many classes a project may have, and how many one request may teach it."""

    max_total: int = MAX_CLASSES_PER_PROJECT
    max_new: int = MAX_NEW_CLASSES_PER_REQUEST


DEFAULT_CLASS_LIMITS = ClassLimits()


def slugify(name: str, what: str = "name") -> str:
    """Lower-case, spaces to dashes; refuse anything that is not a plain URL segment."""
    slug = re.sub(r"\s+", "-", name.strip().lower())
    if not _SLUG.match(slug) or slug in RESERVED_SLUGS:
        raise Invalid(
            f"invalid_{what}",
            f"{what} {name!r} must be 1-64 characters of a-z, 0-9, '-' or '_' (starting with a letter or "
            f"digit) and not one of {sorted(RESERVED_SLUGS)}",
        )
    return slug


def clean_classes(classes: Iterable[str]) -> list[str]:
    """Strip, drop empties, keep first occurrence order; refuse over-long names."""
    seen: dict[str, None] = {}
    for raw in classes:
        name = str(raw).strip()
        if not name:
            continue
        if len(name) > MAX_CLASS_NAME:
            raise Invalid("invalid_class", f"class name {name[:40]!r}... is longer than {MAX_CLASS_NAME}")
        if UNPRINTABLE.search(name):
            raise Invalid(
                "invalid_class", f"class name {name[:40]!r} has control, zero-width or bidi characters"
            )
        seen.setdefault(name, None)
    return list(seen)


def get_or_create_workspace(session: Session, name: str) -> Workspace:
    slug = slugify(name, "workspace")
    found = session.scalar(select(Workspace).where(Workspace.slug == slug))
    if found is not None:
        return found
    workspace = Workspace(slug=slug, name=name.strip())
    session.add(workspace)
    session.flush()
    return workspace


def add_key(session: Session, workspace: Workspace, name: str = "") -> tuple[ApiKey, str]:
    """Create a key for ``workspace``: its row and the plain key (shown once, only its hash is stored)."""
    key = generate_key()
    row = ApiKey(workspace_id=workspace.id, key_hash=hash_key(key), prefix=display_prefix(key), name=name)
    session.add(row)
    session.flush()
    return row, key


def create_key(session: Session, workspace: Workspace, name: str = "") -> str:
    """Create a key for ``workspace``; return the plain key."""
    return add_key(session, workspace, name)[1]


def active_key(session: Session, key: str) -> ApiKey | None:
    """The stored key behind a plain key, unless it is unknown or revoked."""
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None)))


def workspace_for_key(session: Session, key: str) -> Workspace | None:
    """The workspace a key authenticates as (``None`` for an unknown or revoked key)."""
    row = active_key(session, key)
    return None if row is None else row.workspace


def list_keys(session: Session, workspace: Workspace | None = None) -> list[ApiKey]:
    """Every key (revoked ones too), oldest first; only ``workspace``'s when given."""
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if workspace is not None:
        query = query.where(ApiKey.workspace_id == workspace.id)
    return list(session.scalars(query))


def revoke_key(session: Session, key_id: str, workspace: Workspace | None = None) -> ApiKey:
    """Revoke a key by id (idempotent) and end its browser sessions, in the caller's transaction.

    The row is kept so listings show when it was revoked; the auth generation moves in the same
    transaction, so every server worker drops its cached lookups within a second."""
    row = session.get(ApiKey, key_id)
    if row is None or (workspace is not None and row.workspace_id != workspace.id):
        where = f" in workspace {workspace.slug!r}" if workspace is not None else ""
        raise NotFound("key_not_found", f"no API key with id {key_id!r}{where}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.execute(delete(WebSession).where(WebSession.api_key_id == row.id))
    bump_generation(session)
    session.flush()
    return row


def get_workspace(session: Session, slug: str) -> Workspace:
    found = session.scalar(select(Workspace).where(Workspace.slug == slug))
    if found is None:
        raise NotFound("workspace_not_found", f"no workspace {slug!r}")
    return found


def reload_workspace(session: Session, workspace: Workspace) -> Workspace:
    """``workspace`` (a cached row of another session) as a row of this one."""
    row = session.get(Workspace, workspace.id)
    if row is None:
        raise NotFound("workspace_not_found", f"no workspace {workspace.slug!r}")
    return row


def create_project(
    session: Session,
    workspace: Workspace,
    name: str,
    type_: str = "object-detection",
    classes: Iterable[str] = (),
) -> Project:
    slug = slugify(name, "project")
    if type_ not in PROJECT_TYPES:
        raise Invalid(
            "invalid_project_type", f"project type {type_!r} is not supported; use one of {PROJECT_TYPES}"
        )
    ws_slug = workspace.slug
    taken = session.scalar(
        select(Project.id).where(Project.workspace_id == workspace.id, Project.slug == slug)
    )
    if taken is not None:
        raise Conflict("project_exists", f"project {ws_slug}/{slug} already exists")
    names = clean_classes(classes)
    if len(names) > MAX_CLASSES_PER_PROJECT:
        raise Invalid(
            "too_many_classes", f"{len(names):,} classes; at most {MAX_CLASSES_PER_PROJECT:,} per project"
        )
    project = Project(
        workspace_id=workspace.id,
        slug=slug,
        name=name.strip(),
        type=type_,
        classes=names,
        strict_classes=bool(names),
    )
    session.add(project)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("project_exists", f"project {ws_slug}/{slug} already exists") from None
    return project


def get_project(session: Session, workspace: Workspace, slug: str) -> Project:
    found = session.scalar(select(Project).where(Project.workspace_id == workspace.id, Project.slug == slug))
    if found is None:
        raise NotFound("project_not_found", f"no project {slug!r} in workspace {workspace.slug!r}")
    return found


def list_projects(session: Session, workspace: Workspace) -> list[Project]:
    return list(
        session.scalars(select(Project).where(Project.workspace_id == workspace.id).order_by(Project.slug))
    )


def new_classes(
    current: Sequence[str], names: Iterable[str], limits: ClassLimits = DEFAULT_CLASS_LIMITS
) -> list[str]:
    """The names in ``names`` that ``current`` lacks, in first-seen order, within ``limits``.

    O(len(current) + len(names)) with sets (no list scans); refuses, with `Invalid`, more than
    ``limits.max_new`` new names or a project growing past ``limits.max_total``."""
    known = set(current)
    new = [n for n in clean_classes(names) if n not in known]
    if len(new) > limits.max_new:
        raise Invalid(
            "too_many_new_classes",
            f"the request teaches the project {len(new):,} new classes; "
            f"at most {limits.max_new:,} per request",
        )
    if new and len(known) + len(new) > limits.max_total:
        raise Invalid(
            "too_many_classes",
            f"the project has {len(known):,} classes; {len(new):,} more would pass the limit of "
            f"{limits.max_total:,} classes per project",
        )
    return new


def add_classes(project: Project, names: Iterable[str], limits: ClassLimits = DEFAULT_CLASS_LIMITS) -> None:
    """Append new class names (projects created without a class list learn classes as they arrive)."""
    new = new_classes(project.classes, names, limits)
    if new:
        project.classes = [*project.classes, *new]
        project.updated_at = utcnow()


def register_model(
    session: Session,
    project: Project,
    version: int,
    onnx_sha256: str,
    format_: str | None,
    class_names: list[str],
) -> ModelVersion:
    if version < 1:
        raise Invalid("invalid_version", "version numbers start at 1")
    existing = session.scalar(
        select(ModelVersion).where(ModelVersion.project_id == project.id, ModelVersion.version == version)
    )
    if existing is not None:
        existing.onnx_sha256, existing.format, existing.class_names = onnx_sha256, format_, class_names
        return existing
    model = ModelVersion(
        project_id=project.id,
        version=version,
        onnx_sha256=onnx_sha256,
        format=format_,
        class_names=class_names,
    )
    session.add(model)
    session.flush()
    return model


def list_model_versions(session: Session, project: Project) -> list[ModelVersion]:
    return list(
        session.scalars(
            select(ModelVersion).where(ModelVersion.project_id == project.id).order_by(ModelVersion.version)
        )
    )


def get_model_version(session: Session, project: Project, version: int) -> ModelVersion:
    found = session.scalar(
        select(ModelVersion).where(ModelVersion.project_id == project.id, ModelVersion.version == version)
    )
    if found is None:
        raise NotFound("version_not_found", f"project {project.slug!r} has no model version {version}")
    return found
