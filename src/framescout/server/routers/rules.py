"""A project's server-held sampling rules: read (YAML or JSON, with an ``ETag``), push, history.

``GET …/rules`` answers the current version as YAML (the default) or JSON (``Accept:
application/json``) with a strong ``ETag`` naming the version (the SHA-256 of its text, the same in
both representations, hence ``Vary: Accept``), so a device polls with ``If-None-Match`` and gets an
empty 304 until the rules change. ``PUT`` takes YAML or JSON by ``Content-Type``, validates it with
the code ``framescout rules check`` runs (a 422 lists each offending key path) and keeps every
accepted version with who pushed it and when (``GET …/rules/history``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from framescout.sampling.config import ConfigFormat
from framescout.server.deps import PathProject, PresentedKey, StoreDep
from framescout.store import Store
from framescout.store.accounts import active_key
from framescout.store.errors import Invalid, TooLarge, Unsupported
from framescout.store.models import Project
from framescout.store.project_rules import (
    MAX_RULES_BYTES,
    RulesVersion,
    get_version,
    history,
    put,
    require_current,
)

router = APIRouter(prefix="/api/v1/projects", tags=["rules"])

MEDIA_TYPES: dict[ConfigFormat, str] = {"yaml": "application/yaml", "json": "application/json"}
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
_JSON_TYPES = ("application/json", "text/json")


class RulesVersionOut(BaseModel):
    """One version of a project's rules, without its text."""

    version: int = Field(description="1 for the first push, one more for each accepted change.")
    etag: str = Field(description="SHA-256 of the text: the version's ETag (quoted in the header).")
    format: str = Field(description="`yaml` or `json`: how it was pushed.")
    size_bytes: int
    pushed_by: str = Field(description="The API key's name (and prefix), or the review UI's reviewer.")
    created_at: datetime

    @classmethod
    def of(cls, version: RulesVersion) -> RulesVersionOut:
        return cls(**{name: getattr(version, name) for name in cls.model_fields})


class RulesPushOut(RulesVersionOut):
    created: bool = Field(description="False when the text was the current version's already.")


def quoted(etag: str) -> str:
    return f'"{etag}"'


def wanted_format(accept: str | None) -> ConfigFormat:
    """JSON when ``Accept`` prefers ``application/json`` to YAML; YAML otherwise (also for ``*/*``)."""
    best: tuple[float, ConfigFormat] = (0.0, "yaml")
    for part in (accept or "").split(","):
        media, *params = (piece.strip().lower() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        fmt: ConfigFormat | None = "json" if media in _JSON_TYPES or media.endswith("+json") else None
        if media in _YAML_TYPES or media.endswith("+yaml"):
            fmt = "yaml"
        if fmt is not None and quality > best[0]:
            best = (quality, fmt)
    return best[1]


def pushed_format(content_type: str | None) -> ConfigFormat:
    """The format a pushed body is written in, by its ``Content-Type`` (none: YAML, which JSON is too)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in _JSON_TYPES or media.endswith("+json"):
        return "json"
    if not media or media in _YAML_TYPES or media.endswith("+yaml"):
        return "yaml"
    raise Unsupported(
        "unsupported_content_type",
        f"rules are sent as YAML (Content-Type: application/yaml) or JSON (application/json), not {media!r}",
    )


def representation(version: RulesVersion, fmt: ConfigFormat) -> str:
    """The version's text in ``fmt``: as pushed when the formats agree, else converted (comments of a
    YAML text do not survive into JSON)."""
    if version.format == fmt:
        return version.text
    data: Any = yaml.safe_load(version.text) if version.format == "yaml" else json.loads(version.text)
    if fmt == "json":
        return json.dumps(_text_keys(data), indent=2, default=str) + "\n"  # ASCII: no lone surrogate
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _text_keys(data: Any) -> Any:
    """YAML mapping keys as JSON text, the way the schema reads them (``str(key)``: a schedule keyed by
    ``2026-12-01`` or ``2`` in YAML); a validated document is a few levels deep, so recursion is fine."""
    if isinstance(data, dict):
        return {k if isinstance(k, str) else str(k): _text_keys(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_text_keys(v) for v in data]
    return data


def _none_match(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` (weak comparison): ``*`` or any listed tag equal to ``etag``."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def _answer(version: RulesVersion, accept: str | None, if_none_match: str | None) -> Response:
    headers = {
        "ETag": quoted(version.etag),
        "Vary": "Accept",
        "Cache-Control": "no-cache",
        "X-Rules-Version": str(version.version),
    }
    if _none_match(if_none_match, version.etag):
        return Response(status_code=304, headers=headers)
    fmt = wanted_format(accept)
    return Response(representation(version, fmt), media_type=MEDIA_TYPES[fmt], headers=headers)


AcceptHeader = Annotated[str | None, Header(description="`application/json` for JSON; YAML otherwise.")]
IfNoneMatch = Annotated[str | None, Header(description="The ETag you have: 304 while it is current.")]
_TEXT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/yaml": {}, "application/json": {}}, "description": "The rules text."},
    304: {"description": "Unchanged: the `If-None-Match` ETag is the current version's."},
}


@router.get("/{workspace}/{project}/rules", responses=_TEXT_RESPONSES, summary="The current rules")
def get_rules(
    project: PathProject, store: StoreDep, accept: AcceptHeader = None, if_none_match: IfNoneMatch = None
) -> Response:
    """The project's current rules; 404 ``rules_not_found`` before the first push."""
    with store.db.reading() as session:
        current = require_current(session, project)
    return _answer(current, accept, if_none_match)


@router.get("/{workspace}/{project}/rules/history", response_model=list[RulesVersionOut])
def rules_history(project: PathProject, store: StoreDep) -> list[RulesVersionOut]:
    """Every accepted version, newest first (who pushed it, when, its size and ETag)."""
    with store.db.reading() as session:
        return [RulesVersionOut.of(v) for v in history(session, project)]


@router.get(
    "/{workspace}/{project}/rules/history/{etag}", responses=_TEXT_RESPONSES, summary="An old version"
)
def rules_version(
    etag: str,
    project: PathProject,
    store: StoreDep,
    accept: AcceptHeader = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The text of the version with this ETag (404 ``rules_version_not_found``)."""
    with store.db.reading() as session:
        version = get_version(session, project, etag)
    return _answer(version, accept, if_none_match)


async def _read_capped(request: Request) -> bytes:
    """The body, refused (413 ``rules_too_large``) as soon as it passes `MAX_RULES_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_RULES_BYTES:
            raise TooLarge("rules_too_large", f"the rules body is over {MAX_RULES_BYTES:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _push(
    store: Store, project: Project, text: str, fmt: ConfigFormat, key: str | None, if_match: str | None
) -> tuple[RulesVersion, bool]:
    """Store the push in one transaction; the pusher is the key's name and prefix."""
    with store.db.writing() as session:
        row = active_key(session, key) if key else None
        who = "unknown key" if row is None else key_label(row.name, row.prefix)
        result = put(session, project, text, fmt, who, if_match=if_match)
    return result.current, result.created


@router.put(
    "/{workspace}/{project}/rules",
    response_model=RulesPushOut,
    responses={201: {"model": RulesPushOut, "description": "A new version."}},
    openapi_extra={
        "requestBody": {"content": {"application/yaml": {}, "application/json": {}}, "required": True}
    },
)
async def put_rules(
    request: Request,
    response: Response,
    project: PathProject,
    store: StoreDep,
    key: PresentedKey,
    if_match: Annotated[str | None, Header(description="Push only over this ETag (else 412).")] = None,
) -> RulesPushOut:
    """Make the body (YAML or JSON by ``Content-Type``) the project's rules: 201 with the new ETag, or
    200 when it is the current text already; 422 ``invalid_rules`` names each bad key path."""
    fmt = pushed_format(request.headers.get("content-type"))
    body = await _read_capped(request)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("invalid_rules", "the rules body is not UTF-8 text") from None
    version, created = await run_in_threadpool(_push, store, project, text, fmt, key, if_match)
    response.status_code = 201 if created else 200
    response.headers["ETag"] = quoted(version.etag)
    response.headers["X-Rules-Version"] = str(version.version)
    return RulesPushOut(**RulesVersionOut.of(version).model_dump(), created=created)


def key_label(name: str, prefix: str) -> str:
    """Who pushed, as the history shows it: ``ci-runner (fs_AbC123…)``, or the prefix of a nameless key."""
    return f"{name} ({prefix}…)" if name else f"{prefix}…"
