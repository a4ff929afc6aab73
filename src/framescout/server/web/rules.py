"""The Rules page: a project's server-held sampling rules, their history, a diff between any two
versions, and an editor that saves through the same store function as ``PUT …/rules``.

A refused save renders the page again with the text as typed and each offending key (its path, the
line it is on, and what is wrong) beside the editor. The editor carries the ETag of the version it was
opened on as ``If-Match``, so a save over a version someone pushed meanwhile is refused, not lost."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from framescout.sampling.config import ConfigFormat
from framescout.server.deps import StoreDep
from framescout.server.web.session import ProjectDep, SignedInDep, check_csrf
from framescout.server.web.templating import render_tab
from framescout.store.errors import Invalid, Outdated, TooLarge
from framescout.store.project_rules import FORMATS, MAX_RULES_BYTES, RulesVersion, history, put

router = APIRouter(prefix="/ui", include_in_schema=False)
SHOWN_VERSIONS = 200
"""The newest versions the page lists (and can diff)."""
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff and its kind: ``add``, ``del``, ``hunk``, ``file`` or ``same``."""

    kind: str
    text: str


def diff_lines(old: RulesVersion, new: RulesVersion) -> list[DiffLine]:
    """``old`` → ``new`` as a unified diff (three lines of context), each line with its kind."""
    lines = difflib.unified_diff(
        old.text.splitlines(),
        new.text.splitlines(),
        fromfile=f"version {old.version} ({old.etag[:12]})",
        tofile=f"version {new.version} ({new.etag[:12]})",
        lineterm="",
    )
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        else:
            kind = {"+": "add", "-": "del"}.get(line[:1], "same")
        out.append(DiffLine(kind, line))
    return out


def key_line(text: str, key: str) -> int | None:
    """The 1-based line of ``key`` (``rules[1].limits.per_minute``) in a YAML or JSON text, found on
    the composed YAML nodes; the nearest enclosing key's line when the key itself is missing."""
    try:
        node: Any = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for name, index in _SEGMENT.findall(key):
        child = None
        if name and isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == name]
            if found:
                line, child = found[0][0].start_mark.line + 1, found[0][1]
        elif index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            child = node.value[int(index)]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def _page(
    request: Request,
    who: Any,
    proj: Any,
    versions: list[RulesVersion],
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    by_etag = {v.etag: v for v in versions}
    params = request.query_params
    old, new = by_etag.get(params.get("from", "")), by_etag.get(params.get("to", ""))
    current = versions[0] if versions else None
    defaults: dict[str, Any] = {
        "text": current.text if current else "",
        "format": current.format if current else "yaml",
        "if_match": current.etag if current else "",
        "problems": [],
        "error": None,
    }
    response = render_tab(
        request,
        who,
        proj,
        "rules",
        current=current,
        versions=versions,
        diff=diff_lines(old, new) if old and new else None,
        diff_from=old,
        diff_to=new,
        formats=FORMATS,
        saved=params.get("saved"),
        max_bytes=MAX_RULES_BYTES,
        **{**defaults, **context},
    )
    response.status_code = status_code
    return response


@router.get("/p/{project}/rules", response_class=HTMLResponse)
def rules_page(request: Request, who: SignedInDep, proj: ProjectDep, store: StoreDep) -> HTMLResponse:
    """The current rules with their ETag, the history, a diff (``?from=ETAG&to=ETAG``) and the editor."""
    with store.db.reading() as session:
        versions = history(session, proj, SHOWN_VERSIONS)
    return _page(request, who, proj, versions)


@router.post("/p/{project}/rules", response_class=HTMLResponse)
def save_rules(
    request: Request,
    who: SignedInDep,
    proj: ProjectDep,
    store: StoreDep,
    text: Annotated[str, Form(max_length=4 * MAX_RULES_BYTES)],  # bytes: checked by `put`
    fmt: Annotated[str, Form(alias="format", max_length=10)] = "yaml",
    if_match: Annotated[str, Form(max_length=100)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Save the editor's text as a new version (or nothing, when it is the current text); a refusal
    shows the page again with the text as typed and each problem next to its key."""
    check_csrf(who, csrf)
    chosen: ConfigFormat = "json" if fmt == "json" else "yaml"
    try:
        with store.db.writing() as session:
            result = put(session, proj, text, chosen, who.reviewer, if_match=if_match or None)
    except (Invalid, TooLarge, Outdated) as exc:
        problems = exc.problems or [{"key": "", "where": "", "message": exc.message}]
        shown = [{**p, "line": key_line(text, p["key"]) if p["key"] else None} for p in problems]
        with store.db.reading() as session:
            versions = history(session, proj, SHOWN_VERSIONS)
        status = 412 if isinstance(exc, Outdated) else 413 if isinstance(exc, TooLarge) else 422
        if isinstance(exc, Outdated) and versions:  # told now: a second save replaces that version
            if_match = versions[0].etag
        return _page(
            request,
            who,
            proj,
            versions,
            status_code=status,
            text=text,
            format=chosen,
            if_match=if_match,
            problems=shown,
            error=exc.code,
        )
    saved = result.current.version if result.created else "unchanged"
    return RedirectResponse(f"/ui/p/{proj.slug}/rules?saved={saved}", status_code=303)
