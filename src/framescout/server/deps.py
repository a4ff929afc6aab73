"""FastAPI dependencies: the store, the caller's workspace (API key auth) and path-addressed projects."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from framescout.server.errors import ApiError
from framescout.server.settings import Settings
from framescout.store import Store
from framescout.store.accounts import get_project, workspace_for_key
from framescout.store.models import Project, Workspace

_bearer = HTTPBearer(auto_error=False, description="An API key from `framescout keys create`.")


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_workspace(
    store: StoreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Query(description="API key (alternative to the Bearer header).")] = None,
) -> Workspace:
    """The workspace of the presented key; 401 when it is missing or unknown."""
    key = credentials.credentials if credentials is not None else api_key
    if not key:
        raise ApiError(
            "missing_api_key", "an API key is required (Authorization: Bearer <key> or ?api_key=)", status=401
        )
    with store.db.reading() as session:
        workspace = workspace_for_key(session, key)
    if workspace is None:
        raise ApiError("invalid_api_key", "the API key is not valid", status=401)
    return workspace


CurrentWorkspace = Annotated[Workspace, Depends(current_workspace)]


def path_workspace(workspace: str, current: CurrentWorkspace) -> Workspace:
    """The ``{workspace}`` of the path, which must be the key's own (404 otherwise, revealing nothing)."""
    if workspace != current.slug:
        raise ApiError("workspace_not_found", f"no workspace {workspace!r} for this API key", status=404)
    return current


PathWorkspace = Annotated[Workspace, Depends(path_workspace)]


def path_project(project: str, workspace: PathWorkspace, store: StoreDep) -> Project:
    with store.db.reading() as session:
        return get_project(session, workspace, project)


PathProject = Annotated[Project, Depends(path_project)]
