"""Plumbing shared by the pure ASGI middleware: the HTTP-only dispatch and a JSON error answer."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware:
    """Middleware that acts on HTTP requests only; other scopes (lifespan) pass straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request (subclasses override)."""
        await self.app(scope, receive, send)


async def send_error(send: Send, status: int, code: str, message: str) -> None:
    """Answer ``{"error": {"code", "message"}}`` from middleware, before any route ran."""
    payload = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
