"""ASGI middleware that checks JSON request bodies' nesting before FastAPI parses them.

FastAPI parses a JSON body with ``json.loads`` (recursive) before any route code runs, so the depth
cap of `framescout.jsontext` has to be applied at the edge: bodies sent as JSON (or with no
``Content-Type``, which FastAPI also reads as JSON) are buffered — `BodySizeLimit` bounds them —
checked in linear time, and replayed to the app. Other bodies (multipart uploads) stream through
untouched; text bodies that routes parse themselves are checked where they are parsed."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from framescout.jsontext import MAX_DEPTH, JSONTextError, check_surrogates, too_deep
from framescout.server.asgi import HttpMiddleware, send_error
from framescout.server.errors import status_for


def _is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return True
    media = content_type.split(b";", 1)[0].strip().lower()
    return media in (b"application/json", b"text/json") or media.endswith(b"+json")


class JSONDepthLimit(HttpMiddleware):
    """Answer 422 ``json_too_deep`` for a JSON body nested deeper than ``max_depth``."""

    def __init__(self, app: ASGIApp, max_depth: int = MAX_DEPTH) -> None:
        super().__init__(app)
        self.max_depth = max_depth

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        if not _is_json(headers.get(b"content-type")):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":  # the client went away
                    return
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except HTTPException as exc:  # BodySizeLimit refusing a streamed body that grew too large
            await send_error(send, exc.status_code, "too_large", str(exc.detail))
            return
        body = b"".join(chunks)
        if too_deep(body, self.max_depth):
            text = f"the JSON body is nested more than {self.max_depth} levels deep"
            await send_error(send, 422, "json_too_deep", text)
            return
        try:
            _refuse_lone_surrogates(body)
        except JSONTextError as exc:
            await send_error(send, status_for(exc), exc.code, exc.message)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _refuse_lone_surrogates(body: bytes) -> None:
    """A lone ``\\ud800`` would pass FastAPI's parsing and fail in the database or in every later
    response that shows it; refuse it here (only bodies with a surrogate escape are parsed twice)."""
    if b"\\u" not in body:
        return
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return  # not JSON: FastAPI answers it with its own validation error
    check_surrogates(body, value, "the JSON body")
