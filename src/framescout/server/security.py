"""Security headers on every response (API, UI, static files, errors), as pure ASGI middleware.

The review UI gets a strict Content-Security-Policy (scripts only from /ui/static, no inline script;
inline ``style=`` attributes are allowed for bar widths and chart swatches). Everything else is JSON
or image bytes and gets ``default-src 'none'``. The interactive API docs (/docs, /redoc) load Swagger
UI and ReDoc from a CDN with an inline bootstrap script, so they only get ``frame-ancestors``."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope, Send

from framescout.server.asgi import HttpMiddleware

UI_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = "frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")

COMMON = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
    b"cross-origin-opener-policy": b"same-origin",
}


def csp_for(path: str) -> str:
    """The policy for a request path."""
    if path == "/ui" or path.startswith("/ui/"):
        return UI_CSP
    if any(path == p or path.startswith(p + "/") for p in DOCS_PATHS):
        return DOCS_CSP
    return API_CSP


class SecurityHeaders(HttpMiddleware):
    """Add the security headers to every response, replacing any a route set itself. It wraps
    `errors.CatchUnexpected`, so an unexpected error's JSON 500 carries the headers too."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        extra = {**COMMON, b"content-security-policy": csp_for(scope.get("path", "")).encode()}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in extra]
                message = {**message, "headers": [*kept, *extra.items()]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
