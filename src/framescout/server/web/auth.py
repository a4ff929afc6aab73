"""Sign in with an API key, sign out. The login form itself is protected by a double-submit cookie."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from framescout.server.deps import CachesDep, StoreDep
from framescout.server.web.session import COOKIE, SignedInDep, check_csrf, safe_next
from framescout.server.web.templating import render
from framescout.store.keys import hash_key
from framescout.store.web_sessions import SESSION_LIFETIME, sign_in, sign_out

router = APIRouter(prefix="/ui", include_in_schema=False)

LOGIN_CSRF_COOKIE = "framescout_login"


def _login_page(request: Request, next_url: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", None, status_code=status, next_url=next_url, login_csrf=token, error=error
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/ui/login")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    """The sign-in form."""
    return _login_page(request, safe_next(next))


@router.post("/login", response_model=None)
def login(
    request: Request,
    store: StoreDep,
    api_key: Annotated[str, Form(max_length=200)] = "",
    reviewer: Annotated[str, Form(max_length=200)] = "",
    login_csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/ui/",
) -> Response:
    """Exchange an API key for a session cookie; the key itself is never stored in the browser."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not login_csrf or not hmac.compare_digest(expected, login_csrf):
        return _login_page(request, safe_next(next), "The form expired; please sign in again.", 403)
    if not api_key.strip():
        return _login_page(request, safe_next(next), "Enter an API key.", 422)
    with store.db.writing() as session:
        signed = sign_in(session, api_key.strip(), reviewer)
    if signed is None:
        return _login_page(
            request,
            safe_next(next),
            "That API key is not valid (create one with framescout keys create).",
            401,
        )
    token, _ = signed
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui/login")
    return response


@router.post("/logout")
def logout(
    request: Request,
    who: SignedInDep,
    store: StoreDep,
    caches: CachesDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> RedirectResponse:
    """End the session (on this browser only; other workers forget it within seconds)."""
    check_csrf(who, csrf)
    token = request.cookies.get(COOKIE, "")
    with store.db.writing() as session:
        sign_out(session, token)
    caches.web_sessions.discard(hash_key(token))
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
