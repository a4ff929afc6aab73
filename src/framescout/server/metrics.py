"""Prometheus metrics: the instruments, the request middleware, the hooks and ``GET /metrics``.

Several uvicorn workers report together through prometheus-client's multi-process mode: ``framescout
serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory (`framescout.server.metrics_dir`)
before any worker imports this module, every worker writes its samples there, and ``/metrics`` (in
whichever worker answers) sums them. Without the variable (an in-process app, the tests' TestClient)
the process's own registry is served.

Labels are bounded: requests are counted by route *template* (``/{workspace}/{project}/upload``, never
the raw path), a method from a fixed list and the status; uploads by outcome and the error's stable
``code``; errors by exception class. ``/metrics`` needs no key unless ``FRAMESCOUT_METRICS_TOKEN`` is
set (then ``Authorization: Bearer <token>``); keep it behind the reverse proxy (docs/deployment.md).
"""

from __future__ import annotations

import functools
import hmac
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from framescout.server.errors import error_response
from framescout.server.metrics_dir import MULTIPROC_ENV
from framescout.store.blobs import BlobStore

TOKEN_ENV = "FRAMESCOUT_METRICS_TOKEN"
UNMATCHED = "<unmatched>"
"""The route label of a request no route matched (404s for made-up paths: one series, not one each)."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "framescout_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
UPLOADS = Counter(
    "framescout_uploads_total",
    "Image uploads by outcome (new, duplicate, rejected) and, for rejections, the error code.",
    ["outcome", "code"],
)
INGEST_SECONDS = Histogram(
    "framescout_ingest_duration_seconds",
    "Time to take one upload (read or fetch, decode, store), by outcome.",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
)
INFERENCE_SECONDS = Histogram(
    "framescout_inference_duration_seconds",
    "Time of one model run on a decoded image (hosted inference and pre-labels), by outcome.",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
)
DATABASE_ERRORS = Counter(
    "framescout_database_errors_total",
    "Errors the database driver raised (unique-constraint races of concurrent uploads included), by class.",
    ["error"],
)
BLOB_ERRORS = Counter(
    "framescout_blob_store_errors_total",
    "Blob-store operations that failed (an absent blob is not an error), by operation and class.",
    ["operation", "error"],
)

P = ParamSpec("P")
T = TypeVar("T")


# ------------------------------------------------------------------------------------------ requests
def route_template(scope: Scope) -> str:
    """The path template of the route that took the request (set by Starlette's router), or
    `UNMATCHED`; a mount (the UI's static files) is labelled by its prefix."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestMetrics:
    """Pure ASGI middleware, outermost: counts every HTTP response by method, route template and
    status (413s of the body cap and JSON 500s included); an exception that escapes counts as 500.
    Other scopes (lifespan) pass through uncounted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._counted(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            method = scope.get("method", "GET")
            method = method if method in METHODS else "other"
            REQUESTS.labels(method, route_template(scope), str(status)).inc()


# ------------------------------------------------------------------------------------------ hooks
def records_upload(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Decorate the upload entry point (`framescout.server.uploads.ingest_upload`): count its outcome
    (``new``/``duplicate`` from the result's ``duplicate``; ``rejected`` with the error's ``code``) and
    time it. Errors before it runs (auth, unknown project, form validation) are request counts only."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        start = time.perf_counter()
        try:
            result = await func(*args, **kwargs)
        except Exception as exc:
            code = getattr(exc, "code", None)
            UPLOADS.labels("rejected", code if isinstance(code, str) else "internal_error").inc()
            INGEST_SECONDS.labels("rejected").observe(time.perf_counter() - start)
            raise
        outcome = "duplicate" if getattr(result, "duplicate", False) else "new"
        UPLOADS.labels(outcome, "").inc()
        INGEST_SECONDS.labels(outcome).observe(time.perf_counter() - start)
        return result

    return wrapper


def times_inference(func: Callable[P, T]) -> Callable[P, T]:
    """Decorate the model run (`framescout.server.inference.ModelRegistry.predict`): its latency,
    ``ok`` or ``failed``."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        start = time.perf_counter()
        outcome = "failed"
        try:
            result = func(*args, **kwargs)
            outcome = "ok"
            return result
        finally:
            INFERENCE_SECONDS.labels(outcome).observe(time.perf_counter() - start)

    return wrapper


def _count_database_error(context: Any) -> None:
    original = getattr(context, "original_exception", None)
    DATABASE_ERRORS.labels(type(original).__name__ if original is not None else "unknown").inc()


_BLOB_OPERATIONS = ("put", "get", "exists", "delete")
_INSTRUMENTED = "_framescout_metrics"


def _counting(operation: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except KeyError:  # absent (or a malformed hash): an answer, not a failure of the store
            raise
        except Exception as exc:
            BLOB_ERRORS.labels(operation, type(exc).__name__).inc()
            raise

    return wrapper


def instrument_blobs(blobs: BlobStore) -> None:
    """Count the failures of ``blobs``'s `BlobStore` operations, whatever the backend, by wrapping
    them on this instance (idempotent: an app built twice over one store wraps once)."""
    if getattr(blobs, _INSTRUMENTED, False):
        return
    for operation in _BLOB_OPERATIONS:
        setattr(blobs, operation, _counting(operation, getattr(blobs, operation)))
    setattr(blobs, _INSTRUMENTED, True)


# ------------------------------------------------------------------------------------------ exposition
def exposition() -> bytes:
    """The text format: every worker's samples summed in multi-process mode, else this process's.

    The mode is the one prometheus-client chose when it was first imported: ``serve --workers 1`` runs
    its one worker in the process that imported it before ``PROMETHEUS_MULTIPROC_DIR`` was set, so
    that worker keeps its samples in memory and serves its own registry (it is the only process)."""
    path = os.environ.get(MULTIPROC_ENV)
    if not path or values.ValueClass is values.MutexValue:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def _authorized(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def install(app: FastAPI, blobs: BlobStore) -> None:
    """Add the request middleware (outermost: call after every other ``add_middleware``), the
    database-error and blob-error hooks, and ``GET /metrics`` (before any catch-all route)."""
    app.add_middleware(RequestMetrics)
    if not event.contains(Engine, "handle_error", _count_database_error):
        event.listen(Engine, "handle_error", _count_database_error)
    instrument_blobs(blobs)
    token = os.environ.get(TOKEN_ENV) or None

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    def metrics(request: Request) -> Response:
        """Prometheus text format (no key unless ``FRAMESCOUT_METRICS_TOKEN`` is set)."""
        if token is not None and not _authorized(request, token):
            return error_response(401, "unauthorized", f"/metrics needs the token set in ${TOKEN_ENV}")
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
