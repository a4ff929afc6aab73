"""The SDK's side of server-held rules: read a project's rules (with ``If-None-Match``), push, history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from framescout.client._errors import UnexpectedResponse

MEDIA_TYPES = {"yaml": "application/yaml", "json": "application/json"}


@dataclass(frozen=True)
class RulesText:
    """A version of a project's rules as the server sent it: the text, its ETag (unquoted), the format
    of the text and the version number."""

    text: str
    etag: str
    format: str
    version: int | None


def _rules_path(workspace_project: str) -> str:
    parts = workspace_project.strip("/").split("/")
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"expected 'workspace/project'; got {workspace_project!r}")
    return f"/api/v1/projects/{parts[0]}/{parts[1]}/rules"


class RulesMethods:
    """`Client`'s rules methods (a mix-in: `Client` provides the retrying ``_request``)."""

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        raise NotImplementedError

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    def get_rules(
        self, workspace_project: str, *, format: str = "yaml", etag: str | None = None
    ) -> RulesText | None:
        """The project's current rules in ``format`` (``yaml`` or ``json``); ``None`` when ``etag`` is
        still the current version's (the server answered 304). `ApiError` ``rules_not_found`` (404)
        before the first push."""
        headers = {"Accept": MEDIA_TYPES[format]}
        if etag:
            headers["If-None-Match"] = f'"{etag.strip(chr(34))}"'
        response = self._request("GET", _rules_path(workspace_project), headers=headers, expect=(304,))
        if response.status_code == 304:
            return None
        tag = response.headers.get("etag", "").removeprefix("W/").strip('"')
        if not tag:
            raise UnexpectedResponse(
                response.status_code, "unexpected_response", "the rules answer carries no ETag"
            )
        version = response.headers.get("x-rules-version")
        return RulesText(response.text, tag, format, int(version) if version and version.isdigit() else None)

    def push_rules(
        self, workspace_project: str, text: str, *, format: str = "yaml", if_match: str | None = None
    ) -> dict[str, Any]:
        """Make ``text`` the project's rules: the stored version (``version``, ``etag``, ``created``:
        false when it was the current text already). `ApiError` 422 ``invalid_rules`` with
        ``problems`` naming each key; 412 ``rules_changed`` when ``if_match`` is not current."""
        headers = {"Content-Type": MEDIA_TYPES[format]}
        if if_match:
            headers["If-Match"] = f'"{if_match.strip(chr(34))}"'
        path = _rules_path(workspace_project)
        result: dict[str, Any] = self._json("PUT", path, content=text.encode(), headers=headers)
        return result

    def rules_history(self, workspace_project: str) -> list[dict[str, Any]]:
        """Every version of the project's rules, newest first (``version``, ``etag``, ``pushed_by``, …)."""
        result: list[dict[str, Any]] = self._json("GET", _rules_path(workspace_project) + "/history")
        return result
