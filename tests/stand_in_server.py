"""A stand-in for the server's upload endpoint that fails on demand (tests that need no real server
process for the fault they inject: HTML pages, redirects, dropped connections, any status)."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Fault = int | str
"""An HTTP status answered with the JSON error shape, or ``"html"`` (200 text/html, a captive portal),
``"redirect"`` (301 to a portal), ``"wrong-json"`` (201 JSON without the upload fields) or ``"drop"``
(the connection closed without an answer)."""


class FlakyServer:
    """A stand-in for the upload endpoint: fails the first requests with the given faults, can be
    slow, and deduplicates by content hash like the real server (multipart parsed just enough)."""

    def __init__(self, failures: list[Fault], delay: float = 0.0) -> None:
        self.failures, self.delay = list(failures), delay
        self.stored: dict[str, int] = {}
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                pass

            def answer(
                self, status: int, body: bytes, kind: str = "application/json", **headers: str
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # the collector's preflight: the project exists
                self.answer(200, json.dumps({"slug": self.path.rsplit("/", 1)[-1]}).encode())

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.requests += 1
                time.sleep(server.delay)
                if server.failures:
                    fault = server.failures.pop(0)
                    if fault == "drop":
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                    elif fault == "html":
                        self.answer(200, b"<html><body>Sign in to the hotel Wi-Fi</body></html>", "text/html")
                    elif fault == "redirect":
                        self.answer(301, b"", "text/html", Location="http://portal.invalid/login")
                    elif fault == "wrong-json":
                        self.answer(201, b'{"ok": true}')
                    else:
                        assert isinstance(fault, int)
                        error = {"error": {"code": f"e{fault}", "message": f"injected {fault}"}}
                        self.answer(fault, json.dumps(error).encode(), Retry_After="0")
                    return
                image = body.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in body else body
                digest = hashlib.sha256(image).hexdigest()
                duplicate = digest in server.stored
                server.stored[digest] = server.stored.get(digest, 0) + 1
                answer = {"id": digest[:8], "sha256": digest, "duplicate": duplicate}
                self.answer(200 if duplicate else 201, json.dumps(answer).encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
