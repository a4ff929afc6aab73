"""Every error as ``{"error": {"code": ..., "message": ...}}``, and the one place that gives each a status.

Two trees meet here: the store's domain errors (`framescout.store.errors`, no HTTP in them) and the
server's own `RequestError` tree (auth, request shape, URL fetches, hosted models), plus
`jsontext.JSONTextError`; `STATUS` maps every kind to its HTTP status (docs/errors.md lists the
kinds, their codes and statuses).

An unexpected exception answers the JSON 500 from `CatchUnexpected`, an ASGI middleware: Starlette's
own last-resort handler re-raises after answering, which makes the server drop the keep-alive
connection, so the client's next request on it fails too."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from framescout.errors import CodedError
from framescout.jsontext import JSONTextError, JSONTooLarge
from framescout.server.asgi import HttpMiddleware
from framescout.store.errors import (
    Conflict,
    Invalid,
    NotFound,
    Outdated,
    StoreError,
    TooLarge,
    Unsupported,
)

log = logging.getLogger("framescout.server")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


class RequestError(CodedError):
    """Base of the server's own errors: auth, request shape, URL fetches, hosted models."""


class Unauthorized(RequestError):
    """No API key or an unknown or revoked one (``missing_api_key``, ``invalid_api_key``)."""


class Forbidden(RequestError):
    """Signed in, but the form is stale or came from another site (``csrf_failed``)."""


class RequestNotFound(RequestError):
    """A workspace in the path that is not the key's own (``workspace_not_found``)."""


class RequestInvalid(RequestError):
    """A malformed request or one the server refuses: bad base64, a missing image, a refused or
    failed URL fetch (``fetch_failed``), an unknown filter or format."""


class RequestTooLarge(RequestError):
    """An uploaded or posted image over the byte limit (``too_large``)."""


class Unavailable(RequestError):
    """A hosted model that cannot answer now: its file missing, its self-check failed, or it
    failed on this image (``model_file_missing``, ``model_unusable``, ``model_failed``)."""


Coded = CodedError | JSONTextError
"""Every exception that carries a stable ``code`` and a ``message`` for the client."""

STATUS: dict[type[Exception], int] = {
    StoreError: 400,
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    TooLarge: 413,
    Unsupported: 415,
    Outdated: 412,
    RequestError: 400,
    Unauthorized: 401,
    Forbidden: 403,
    RequestNotFound: 404,
    RequestInvalid: 422,
    RequestTooLarge: 413,
    Unavailable: 503,
    JSONTextError: 422,
    JSONTooLarge: 413,
}
"""The HTTP status of every error kind; a subclass not listed answers its nearest listed base's."""


def status_for(exc: Coded) -> int:
    """The status the API answers ``exc`` with: its kind's in `STATUS`."""
    return next(STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS)


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int, code: str, message: str, problems: list[dict[str, str]] | None = None
) -> JSONResponse:
    """The JSON error; ``problems`` (the offending keys one by one) go beside code and message."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body: dict[str, Any] = error_body(code, message)
    if problems:
        body["error"] = {**body["error"], "problems": problems}
    return JSONResponse(body, status_code=status, headers=headers)


def _respond(
    request: Request, status: int, code: str, message: str, problems: list[dict[str, str]] | None = None
) -> Response:
    """JSON, unless the app has an error page for this request (the web UI's HTML pages)."""
    page = getattr(request.app.state, "error_page", None)
    rendered = page(request, status, code, message) if page is not None else None
    return rendered if rendered is not None else error_response(status, code, message, problems)


def _coded_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Coded)
    return _respond(request, status_for(exc), exc.code, exc.message, getattr(exc, "problems", None))


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return _respond(request, exc.status_code, code, str(exc.detail))


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    code = "validation_error"
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            code = "malformed_json"
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        problems.append(f"{where}: {err.get('msg', 'invalid')}")
    return _respond(request, 422, code, "; ".join(problems) or "invalid request")


def _internal_error() -> JSONResponse:
    return error_response(500, "internal_error", "the server failed to handle the request; see its log")


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return _internal_error()


class CatchUnexpected(HttpMiddleware):
    """Answer an exception no handler took with the JSON 500 and return normally, so the server
    keeps the connection open; only an error after the response started is passed on."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            log.exception("unhandled error", exc_info=exc)
            await _internal_error()(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """The handlers; add `CatchUnexpected` outside every middleware that may raise (only
    `security.SecurityHeaders`, which never raises, goes outside it)."""
    for kind in (CodedError, JSONTextError):
        app.add_exception_handler(kind, _coded_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)  # only reached after a response started
