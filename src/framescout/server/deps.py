"""FastAPI dependencies: the store, the caller's workspace (API key auth) and path-addressed projects.

They are ``async`` so they run on the event loop instead of a threadpool hop each; the two that may
touch the database do so only on a cache miss (a short indexed read), plus the auth generation poll
(a one-row read at most every `GENERATION_POLL_SECONDS`) that makes revocations visible at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from math import inf
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from framescout.server.cache import TTLCache
from framescout.server.errors import RequestNotFound, Unauthorized
from framescout.server.fetch import Fetcher
from framescout.server.image_bytes import ThumbnailCache
from framescout.server.settings import Settings
from framescout.store import Store
from framescout.store.accounts import get_project, workspace_for_key
from framescout.store.auth_state import read_generation
from framescout.store.keys import hash_key
from framescout.store.models import Project, Workspace
from framescout.store.web_sessions import SignedIn

KEY_CACHE_SECONDS = 30.0
PROJECT_CACHE_SECONDS = 2.0
WEB_SESSION_CACHE_SECONDS = 10.0
GENERATION_POLL_SECONDS = 0.5
"""How often each worker reads the auth generation; a revoked key stops within about this long."""
T = TypeVar("T")


class Caches:
    """Per-app caches of the lookups every request makes.

    Key and session entries live up to their TTL, but `sync` drops them all as soon as the auth
    generation in the database moves (a key revoked or deleted, a session ended) on any worker."""

    def __init__(self, poll_seconds: float = GENERATION_POLL_SECONDS) -> None:
        self.keys: TTLCache[str, Workspace | None] = TTLCache(KEY_CACHE_SECONDS)
        self.projects: TTLCache[tuple[str, str], Project] = TTLCache(PROJECT_CACHE_SECONDS)
        self.web_sessions: TTLCache[str, SignedIn | None] = TTLCache(WEB_SESSION_CACHE_SECONDS)
        self.poll_seconds = poll_seconds
        self._generation: int | None = None
        self._checked = -inf
        self._lock = threading.Lock()

    def sync(self, store: Store) -> None:
        """Drop cached keys and sessions if the auth generation moved since the last look.

        Reads the database at most every ``poll_seconds``; a request arriving while another one is
        already reading goes on with the caches as they are (that read is a fraction of a millisecond)."""
        now = time.monotonic()
        if now - self._checked < self.poll_seconds or not self._lock.acquire(blocking=False):
            return
        try:
            with store.db.read_engine.connect() as conn:
                generation = read_generation(conn)
            if generation != self._generation:
                self.keys.clear()
                self.web_sessions.clear()
                self._generation = generation
            self._checked = now
        finally:
            self._lock.release()

    def forget_auth(self) -> None:
        """Drop this worker's cached keys and sessions now (after a revocation it made itself)."""
        self.keys.clear()
        self.web_sessions.clear()


_bearer = HTTPBearer(auto_error=False, description="An API key from `framescout keys create`.")


def _app_state(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency answering ``request.app.state.<name>`` (set once by `create_app`)."""

    async def dependency(request: Request) -> T:
        value = getattr(request.app.state, name)
        assert isinstance(value, kind)
        return value

    dependency.__name__ = f"get_{name}"
    return dependency


get_caches = _app_state("caches", Caches)
get_store = _app_state("store", Store)
get_settings = _app_state("settings", Settings)
get_thumbnails = _app_state("thumbnails", ThumbnailCache)
get_fetcher = _app_state("fetcher", Fetcher)


CachesDep = Annotated[Caches, Depends(get_caches)]
StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ThumbnailsDep = Annotated[ThumbnailCache, Depends(get_thumbnails)]
FetcherDep = Annotated[Fetcher, Depends(get_fetcher)]


async def presented_key(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Query(description="API key (alternative to the Bearer header).")] = None,
) -> str | None:
    """The API key the request carries (Bearer header or ``?api_key=``), not yet checked."""
    return credentials.credentials if credentials is not None else api_key


PresentedKey = Annotated[str | None, Depends(presented_key)]


async def current_workspace(
    store: StoreDep, caches: Annotated[Caches, Depends(get_caches)], key: PresentedKey
) -> Workspace:
    """The workspace of the presented key; 401 when it is missing or unknown."""
    if not key:
        raise Unauthorized(
            "missing_api_key", "an API key is required (Authorization: Bearer <key> or ?api_key=)"
        )

    def load() -> Workspace | None:
        with store.db.reading() as session:
            return workspace_for_key(session, key)

    caches.sync(store)
    workspace = caches.keys.get(hash_key(key), load)
    if workspace is None:
        raise Unauthorized("invalid_api_key", "the API key is not valid")
    return workspace


CurrentWorkspace = Annotated[Workspace, Depends(current_workspace)]


async def path_workspace(workspace: str, current: CurrentWorkspace) -> Workspace:
    """The ``{workspace}`` of the path, which must be the key's own (404 otherwise, revealing nothing)."""
    if workspace != current.slug:
        raise RequestNotFound("workspace_not_found", f"no workspace {workspace!r} for this API key")
    return current


PathWorkspace = Annotated[Workspace, Depends(path_workspace)]


async def path_project(
    project: str, workspace: PathWorkspace, store: StoreDep, caches: Annotated[Caches, Depends(get_caches)]
) -> Project:
    """The project (cached briefly; uploads re-read it inside their transaction when classes matter)."""

    def load() -> Project:
        with store.db.reading() as session:
            return get_project(session, workspace, project)

    return caches.projects.get((workspace.id, project), load)


PathProject = Annotated[Project, Depends(path_project)]
