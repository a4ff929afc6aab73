"""A threaded HTTP proxy in front of a real server that injects one fault into a window of upload
requests (``POST .../images``): an HTTP status, a captive portal's HTML, a redirect, a 35 s stall, a
dropped connection, or the server killed with SIGKILL mid-upload. Every other request is forwarded."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}
NAME_FIELD = re.compile(rb'name="name"\r\n\r\n(.*?)\r\n')


@dataclass
class Window:
    """Fault the upload requests after the first ``after`` ones: ``count`` of them, or every one that
    arrives within ``seconds`` of the first faulted one."""

    fault: str
    after: int = 0
    count: int = 0
    seconds: float = 0.0
    started: float | None = None
    faulted: list[str] = field(default_factory=list)

    def hit(self, seen: int) -> bool:
        if seen <= self.after:
            return False
        if self.seconds:
            self.started = self.started or time.monotonic()
            return time.monotonic() - self.started < self.seconds
        return len(self.faulted) < self.count


class FaultProxy:
    """Listens on a free loopback port and forwards to ``upstream_port``."""

    def __init__(self, upstream_port: int, on_kill: Callable[[], None] | None = None) -> None:
        self.upstream_port, self.on_kill = upstream_port, on_kill
        self.window: Window | None = None
        self.uploads = 0
        self.in_flight = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy._handle(self, b"")

            def do_POST(self) -> None:
                proxy._handle(self, self.rfile.read(int(self.headers.get("Content-Length", 0))))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def arm(self, window: Window | None) -> None:
        with self._lock:
            self.window, self.uploads = window, 0

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Until no request is being handled (a stalled one is forwarded late, then finishes)."""
        deadline = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ------------------------------------------------------------------ one request
    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        fault = None
        with self._lock:
            self.in_flight += 1
            if handler.command == "POST" and handler.path.endswith("/images"):
                self.uploads += 1
                window = self.window
                if window is not None and window.hit(self.uploads):
                    found = NAME_FIELD.search(body)
                    window.faulted.append(found.group(1).decode() if found else "?")
                    fault = window.fault
        try:
            self._inject(handler, body, fault)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _inject(self, handler: BaseHTTPRequestHandler, body: bytes, fault: str | None) -> None:
        if fault is None:
            self._forward(handler, body)
        elif fault.isdigit():
            status = int(fault)
            error = {"error": {"code": f"injected_{status}", "message": f"the proxy answered {status}"}}
            self._answer(handler, status, json.dumps(error).encode(), "application/json")
        elif fault == "html":
            page = b"<html><body><form>Accept the terms to use the Wi-Fi</form></body></html>"
            self._answer(handler, 200, page, "text/html")
        elif fault == "301":
            self._answer(handler, 301, b"", "text/html", {"Location": "http://portal.invalid/login"})
        elif fault == "stall":
            time.sleep(35.0)  # longer than the collector's 30 s upload timeout, then deliver late
            self._forward(handler, body)
        elif fault == "drop":  # the server gets it, the answer is lost: the re-send is a duplicate
            self._forward(handler, body, answer=False)
            self._drop(handler)
        elif fault == "kill":
            self._forward(handler, body, answer=False, kill=True)
            self._drop(handler)
        else:
            raise ValueError(f"unknown fault {fault!r}")

    def _forward(
        self, handler: BaseHTTPRequestHandler, body: bytes, *, answer: bool = True, kill: bool = False
    ) -> None:
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        try:
            upstream.request(handler.command, handler.path, body=body or None, headers=headers)
            if kill and self.on_kill:
                self.on_kill()  # SIGKILL while the upload is in flight
            response = upstream.getresponse()
            data = response.read()
        except OSError:  # upstream down (refused, reset): like a dead server, no answer at all
            if answer:
                self._drop(handler)
            return
        finally:
            upstream.close()
        if answer:
            extra = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
            kind = extra.pop("content-type", extra.pop("Content-Type", "application/octet-stream"))
            self._answer(handler, response.status, data, kind, extra)

    @staticmethod
    def _answer(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        kind: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", kind)
            handler.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:  # the client gave up (timed out) before the late answer
            handler.close_connection = True

    @staticmethod
    def _drop(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)
