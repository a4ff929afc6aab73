"""Jinja2 templates and the helpers every page shares (rendering with the session, project lookup)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from framescout import __version__
from framescout.store.models import Project
from framescout.store.provenance import source_label
from framescout.store.web_sessions import SignedIn

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


templates.env.filters["when"] = _when
templates.env.filters["percent"] = _percent
templates.env.filters["source"] = source_label
templates.env.globals["version"] = __version__


def render(
    request: Request, name: str, who: SignedIn | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page; ``who`` (the signed-in reviewer) feeds the header and the CSRF token."""
    response: HTMLResponse = templates.TemplateResponse(
        request,
        name,
        {"who": who, "csrf": who.csrf_token if who else "", **context},
        status_code=status_code,
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )
    return response


def render_tab(
    request: Request, who: SignedIn, project: Project, tab: str, template: str | None = None, **context: Any
) -> HTMLResponse:
    """Render one of a project's tabs (``tab.html`` unless ``template`` says otherwise)."""
    return render(request, template or f"{tab}.html", who, tab=tab, project=project, **context)
