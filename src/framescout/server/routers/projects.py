"""Projects of a workspace: create, list, read; their batches and registered model versions."""

from __future__ import annotations

from fastapi import APIRouter

from framescout.server.deps import PathProject, PathWorkspace, StoreDep
from framescout.server.schemas import BatchOut, ModelVersionOut, ProjectCreate, ProjectOut
from framescout.store.accounts import (
    create_project,
    get_project,
    list_model_versions,
    list_projects,
    reload_workspace,
)
from framescout.store.queries import list_batches

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])


@router.post("/{workspace}", response_model=ProjectOut, status_code=201)
def create(body: ProjectCreate, workspace: PathWorkspace, store: StoreDep) -> ProjectOut:
    """Create a project (409 when the slug is taken)."""
    with store.db.writing() as session:
        project = create_project(
            session, reload_workspace(session, workspace), body.name, body.type, body.classes
        )
    return ProjectOut.of(project, workspace.slug)


@router.get("/{workspace}", response_model=list[ProjectOut])
def list_(workspace: PathWorkspace, store: StoreDep) -> list[ProjectOut]:
    with store.db.reading() as session:
        return [ProjectOut.of(p, workspace.slug) for p in list_projects(session, workspace)]


@router.get("/{workspace}/{project}", response_model=ProjectOut)
def get(project: PathProject, workspace: PathWorkspace, store: StoreDep) -> ProjectOut:
    """The project as stored now (its learnt classes included)."""
    with store.db.reading() as session:
        return ProjectOut.of(get_project(session, workspace, project.slug), workspace.slug)


@router.get("/{workspace}/{project}/batches", response_model=list[BatchOut])
def batches(project: PathProject, store: StoreDep) -> list[BatchOut]:
    with store.db.reading() as session:
        return [
            BatchOut(id=b.id, name=b.name, images=n, created_at=b.created_at)
            for b, n in list_batches(session, project)
        ]


@router.get("/{workspace}/{project}/versions", response_model=list[ModelVersionOut])
def versions(project: PathProject, store: StoreDep) -> list[ModelVersionOut]:
    """Model versions registered with `framescout models add` (served by hosted inference)."""
    with store.db.reading() as session:
        return [ModelVersionOut.of(m) for m in list_model_versions(session, project)]
