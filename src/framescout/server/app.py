"""The FastAPI application factory: native API under ``/api/v1``, Roboflow-compatible routes at the root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from framescout import __version__
from framescout.server import metrics
from framescout.server.deps import Caches
from framescout.server.errors import CatchUnexpected, install_error_handlers
from framescout.server.fetch import Fetcher
from framescout.server.image_bytes import ThumbnailCache
from framescout.server.inference import ModelRegistry
from framescout.server.json_bodies import JSONDepthLimit
from framescout.server.label_assist import LabelAssistant
from framescout.server.limits import BodySizeLimit
from framescout.server.readiness import install_readiness
from framescout.server.routers import annotations as annotations_router
from framescout.server.routers import deployments as deployments_router
from framescout.server.routers import devices as devices_router
from framescout.server.routers import evaluation as evaluation_router
from framescout.server.routers import images, inference, projects, reports, roboflow, similarity, workspaces
from framescout.server.routers import predictions as predictions_router
from framescout.server.routers import rule_yield as rule_yield_router
from framescout.server.routers import rules as rules_router
from framescout.server.security import SecurityHeaders
from framescout.server.settings import Settings
from framescout.server.web import install_web_ui
from framescout.store import Store

DESCRIPTION = """Self-hosted active learning for computer vision.

Authenticate with `Authorization: Bearer <key>` (or `?api_key=`); create keys with
`framescout keys create --workspace NAME`. Every error is `{"error": {"code", "message"}}`.
The root-level routes are the subset of Roboflow's API used by the official `roboflow` package."""


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """Build the app over ``store`` (opened from ``settings.data_dir`` when not given)."""
    settings = settings or Settings.from_env()
    owned = store is None
    store = store or Store.open(settings.data_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        assistant = LabelAssistant(store, app.state.models, settings) if settings.label_assist else None
        if assistant is not None:
            assistant.start()
        yield
        if assistant is not None:
            assistant.stop()
        if owned:
            store.close()

    app = FastAPI(title="framescout", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.store = store
    app.state.settings = settings
    app.state.caches = Caches()
    app.state.models = ModelRegistry(store.models_dir, store.blobs if store.shared_blobs else None)
    app.state.thumbnails = ThumbnailCache.for_store(store)
    app.state.fetcher = Fetcher(settings.fetch_policy)
    install_error_handlers(app)
    # Innermost first: JSON bodies are depth-checked after the size cap; CatchUnexpected turns any
    # unexpected error into the JSON 500; SecurityHeaders, outermost, stamps every response.
    app.add_middleware(JSONDepthLimit)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(CatchUnexpected)
    app.add_middleware(SecurityHeaders)  # outermost: its headers are on every response, 413s included

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness: answers without authentication, on the event loop, touching nothing shared
        (no database, no threadpool), so it answers however busy the other routes are."""
        return {"status": "ok", "version": __version__}

    install_readiness(app, store)
    metrics.install(app, store.blobs)  # its middleware goes outermost: it counts every response

    for module in (workspaces, projects, images, annotations_router, similarity, reports, rules_router):
        app.include_router(module.router)
    app.include_router(deployments_router.router)
    app.include_router(devices_router.router)
    app.include_router(predictions_router.router)
    app.include_router(rule_yield_router.router)
    app.include_router(evaluation_router.router)
    install_web_ui(app)  # before the root-level routes: /ui must not be read as a workspace
    # Last: root-level Roboflow-compatible paths must not shadow the native API.
    app.include_router(roboflow.router)
    app.include_router(inference.router)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` worker processes (settings from ``FRAMESCOUT_*`` variables)."""
    return create_app(Settings.from_env())
