"""The review UI served by ``framescout serve`` under ``/ui``: server-rendered Jinja2 pages, inline SVG
charts and one small script for the review page, so users need no separate front-end build."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from framescout.server.errors import error_body
from framescout.server.web import auth, browse, devices, evaluation, exports, projects, review, rules
from framescout.server.web.session import SignInRequired, login_url
from framescout.server.web.templating import HERE, render

__all__ = ["install_web_ui"]


def _wants_html(request: Request) -> bool:
    return request.url.path.startswith("/ui") and "text/html" in request.headers.get("accept", "")


def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    if _wants_html(request):
        return RedirectResponse(login_url(exc.next_url), status_code=303)
    return JSONResponse(error_body("sign_in_required", "sign in at /ui/login first"), status_code=401)


def _error_page(request: Request, status: int, code: str, message: str) -> Response | None:
    """Errors on UI pages render as a page (JSON stays JSON for scripts and the API)."""
    if not _wants_html(request):
        return None
    return render(request, "error.html", None, status_code=status, status=status, code=code, message=message)


def install_web_ui(app: FastAPI) -> None:
    """Mount the UI's routes, static files and error pages on ``app``."""
    app.state.error_page = _error_page
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    for module in (auth, projects, browse, review, exports, rules, devices, evaluation):
        app.include_router(module.router)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """The icon browsers ask for on every page (no sign-in: before, it answered 401 as a
        "workspace" of the Roboflow-compatible API, and every page logged a console error)."""
        return FileResponse(
            HERE / "static" / "favicon.ico",
            media_type="image/x-icon",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)
