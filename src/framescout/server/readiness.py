"""``GET /readyz``: is this worker able to serve, i.e. can it reach the database and the blob store?

``/healthz`` (liveness, in `framescout.server.app`) touches nothing shared, so a load balancer keeps a
busy process alive; ``/readyz`` is what it should route by: 200 ``{"status": "ready", ...}`` when a
trivial query and a blob-store probe both succeed, else 503 ``{"status": "not_ready", ...}`` naming the
dependency that failed. Each check runs in a worker thread under a deadline, so a database that hangs
answers 503 in `CHECK_TIMEOUT` seconds instead of holding the probe. The answer names only the
exception's class; the full error goes to the server log (the route needs no key).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from framescout import __version__
from framescout.store import Store

log = logging.getLogger("framescout.server")

CHECK_TIMEOUT = 5.0
PROBE = "0" * 64
"""A well-formed hash no image has: ``exists()`` of it exercises the store's read path and permissions."""


def check_database(store: Store) -> None:
    with store.db.reading() as session:
        session.execute(text("SELECT 1")).scalar_one()


def check_blobs(store: Store) -> None:
    root = getattr(store.blobs, "root", None)  # a local store: its directory must be there
    if isinstance(root, Path) and not root.is_dir():
        raise FileNotFoundError(f"the blob directory {root} is missing")
    store.blobs.exists(PROBE)


async def _run(name: str, check: Callable[[Store], None], store: Store) -> str:
    """``"ok"``, or ``"failed: <ExceptionClass>"`` (``"failed: timeout"``) with the error logged."""
    with anyio.move_on_after(CHECK_TIMEOUT):
        try:
            await anyio.to_thread.run_sync(check, store, abandon_on_cancel=True)
            return "ok"
        except Exception as exc:
            log.warning("readiness: the %s check failed: %s", name, exc)
            return f"failed: {type(exc).__name__}"
    log.warning("readiness: the %s check took more than %.0f s", name, CHECK_TIMEOUT)
    return "failed: timeout"


def install_readiness(app: FastAPI, store: Store) -> None:
    """Add ``GET /readyz`` (no key) checking ``store``'s database and blob store."""

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        """Readiness: 200 when the database and the blob store answer, else 503 naming which failed."""
        checks = {
            "database": await _run("database", check_database, store),
            "blob_store": await _run("blob store", check_blobs, store),
        }
        ready = all(result == "ok" for result in checks.values())
        body = {"status": "ready" if ready else "not_ready", "version": __version__, "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)
