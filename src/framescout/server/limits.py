"""ASGI middleware that refuses request bodies over a byte cap before they are buffered (413)."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from framescout.server.asgi import HttpMiddleware, send_error


class BodySizeLimit(HttpMiddleware):
    """Answer 413 when ``Content-Length`` or the streamed body exceeds ``max_bytes``.

    A streamed body that grows too large raises `HTTPException(413)` from ``receive``; FastAPI passes
    it through its body parsing, and the installed handler renders the usual error JSON."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return f"the request body is larger than {self.max_bytes:,} bytes"

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await send_error(send, 413, "too_large", self._message())
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited_receive, send)
