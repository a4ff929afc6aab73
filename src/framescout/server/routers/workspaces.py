"""Workspaces and API keys: who am I, and minting further keys for my workspace."""

from __future__ import annotations

from fastapi import APIRouter

from framescout.server.deps import CurrentWorkspace, PathWorkspace, StoreDep
from framescout.server.schemas import KeyCreate, KeyCreated, WorkspaceOut
from framescout.store.accounts import create_key
from framescout.store.models import Workspace

router = APIRouter(prefix="/api/v1", tags=["workspaces"])


@router.get("/whoami", response_model=WorkspaceOut)
def whoami(workspace: CurrentWorkspace) -> WorkspaceOut:
    """The workspace the presented API key belongs to."""
    return WorkspaceOut.of(workspace)


@router.post("/workspaces/{workspace}/keys", response_model=KeyCreated, status_code=201)
def new_key(body: KeyCreate, workspace: PathWorkspace, store: StoreDep) -> KeyCreated:
    """Create another API key for this workspace (shown once)."""
    with store.db.writing() as session:
        row = session.get(Workspace, workspace.id)
        assert row is not None
        key = create_key(session, row, body.name)
    return KeyCreated(key=key, workspace=workspace.slug)
