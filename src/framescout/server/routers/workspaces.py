"""Workspaces and API keys: who am I, and minting, listing and revoking keys of my workspace."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from framescout.server.deps import CachesDep, CurrentWorkspace, PathWorkspace, StoreDep
from framescout.server.schemas import KeyCreate, KeyCreated, WorkspaceOut
from framescout.store.accounts import add_key, list_keys, reload_workspace, revoke_key
from framescout.store.models import ApiKey

router = APIRouter(prefix="/api/v1", tags=["workspaces"])


class KeyOut(BaseModel):
    """An API key as listings show it: never the key itself (only its hash is stored)."""

    id: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    name: str
    workspace: str
    created_at: datetime
    revoked_at: datetime | None = Field(description="When the key was revoked; revoked keys never work.")

    @classmethod
    def of(cls, row: ApiKey, workspace: str) -> KeyOut:
        return cls(
            id=row.id,
            prefix=row.prefix,
            name=row.name,
            workspace=workspace,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )


class KeyList(BaseModel):
    keys: list[KeyOut]


@router.get("/whoami", response_model=WorkspaceOut)
def whoami(workspace: CurrentWorkspace) -> WorkspaceOut:
    """The workspace the presented API key belongs to."""
    return WorkspaceOut.of(workspace)


@router.post("/workspaces/{workspace}/keys", response_model=KeyCreated, status_code=201)
def new_key(body: KeyCreate, workspace: PathWorkspace, store: StoreDep) -> KeyCreated:
    """Create another API key for this workspace (shown once)."""
    with store.db.writing() as session:
        row, key = add_key(session, reload_workspace(session, workspace), body.name)
    return KeyCreated(key=key, workspace=workspace.slug, id=row.id, prefix=row.prefix)


@router.get("/workspaces/{workspace}/keys", response_model=KeyList)
def keys(workspace: PathWorkspace, store: StoreDep) -> KeyList:
    """This workspace's API keys, revoked ones included (never the keys themselves)."""
    with store.db.reading() as session:
        rows = list_keys(session, workspace)
    return KeyList(keys=[KeyOut.of(r, workspace.slug) for r in rows])


@router.delete("/workspaces/{workspace}/keys/{key_id}", response_model=KeyOut)
def revoke(key_id: str, workspace: PathWorkspace, store: StoreDep, caches: CachesDep) -> KeyOut:
    """Revoke a key of this workspace (idempotent): refused by every server worker within a second,
    and its browser sessions end. The presented key may revoke itself."""
    with store.db.writing() as session:
        row = revoke_key(session, key_id[:64], workspace)
    caches.forget_auth()
    return KeyOut.of(row, workspace.slug)
