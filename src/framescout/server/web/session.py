"""Browser sessions for the review UI: the session cookie, the signed-in dependency and CSRF checks.

The cookie is HttpOnly and SameSite=Lax; every state-changing request must also carry the session's
CSRF token (a hidden form field, or the ``X-CSRF-Token`` header from the review page's script), so
another site can neither read nor forge a reviewer's actions."""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from framescout.server.deps import CachesDep, StoreDep
from framescout.server.errors import Forbidden
from framescout.store.accounts import get_project
from framescout.store.keys import hash_key
from framescout.store.models import Project, utcnow
from framescout.store.web_sessions import SignedIn, resolve

COOKIE = "framescout_session"
CSRF_HEADER = "X-CSRF-Token"


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in form, script requests get 401 JSON."""

    def __init__(self, next_url: str) -> None:
        super().__init__("sign in required")
        self.next_url = next_url


class CsrfError(Forbidden):
    """A state-changing request without the session's CSRF token (403 ``csrf_failed``)."""

    def __init__(self) -> None:
        super().__init__("csrf_failed", "the form is stale or did not come from this site; reload the page")


def signed_in(request: Request, store: StoreDep, caches: CachesDep) -> SignedIn:
    """The reviewer behind the session cookie (raises `SignInRequired` when there is none).

    Looked up at most every few seconds per worker (a grid of thumbnails is one lookup, not 48), and
    forgotten as soon as the auth generation moves (sign-out, key revoked); a plain function, so
    FastAPI runs the database reads in its threadpool, off the event loop."""
    token = request.cookies.get(COOKIE)
    if token:

        def load() -> SignedIn | None:
            with store.db.reading() as session:
                return resolve(session, token)

        caches.sync(store)
        who = caches.web_sessions.get(hash_key(token), load)
        if who is not None and (who.expires_at is None or who.expires_at > utcnow()):
            return who
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise SignInRequired(target)


SignedInDep = Annotated[SignedIn, Depends(signed_in)]


def current_project(project: str, who: SignedInDep, store: StoreDep, caches: CachesDep) -> Project:
    """The signed-in workspace's project named in the path (404 for any other, in any workspace)."""

    def load() -> Project:
        with store.db.reading() as session:
            return get_project(session, who.workspace, project)

    return caches.projects.get((who.workspace.id, project), load)


ProjectDep = Annotated[Project, Depends(current_project)]


def check_csrf(who: SignedIn, presented: str | None) -> None:
    """Refuse a state-changing request whose token is not the session's own."""
    if not presented or not hmac.compare_digest(presented, who.csrf_token):
        raise CsrfError()


def login_url(next_url: str) -> str:
    return f"/ui/login?next={quote(next_url, safe='')}"


def safe_next(next_url: str | None) -> str:
    """Only same-site paths under /ui are followed after sign-in (no open redirect)."""
    if next_url and next_url.startswith("/ui/") and not next_url.startswith("//") and "\\" not in next_url:
        return next_url
    return "/ui/"
