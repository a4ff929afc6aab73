"""A server that answers 500, 503 and 429 for a while, or answers slowly: the collector waits,
retries with backoff, and in the end every frame arrives exactly once."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from framescout import Predictions
from framescout.collector import Collector
from framescout.sampling import ConfidenceBelow, Sampler


class FlakyServer:
    """A stand-in for the upload endpoint: fails the first requests with the given statuses, can be
    slow, and deduplicates by content hash like the real server (multipart parsed just enough)."""

    def __init__(self, failures: list[int], delay: float = 0.0) -> None:
        self.failures, self.delay = list(failures), delay
        self.stored: dict[str, int] = {}
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.requests += 1
                time.sleep(server.delay)
                if server.failures:
                    status = server.failures.pop(0)
                    self.send_response(status)
                    if status == 429:
                        self.send_header("Retry-After", "0")
                    self.end_headers()
                    self.wfile.write(b'{"error": {"code": "busy", "message": "try later"}}')
                    return
                image = body.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in body else body
                digest = hashlib.sha256(image).hexdigest()
                duplicate = digest in server.stored
                server.stored[digest] = server.stored.get(digest, 0) + 1
                self.send_response(200 if duplicate else 201)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                answer = {"id": digest[:8], "sha256": digest, "duplicate": duplicate}
                self.wfile.write(json.dumps(answer).encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture
def flaky() -> Iterator[FlakyServer]:
    server = FlakyServer([500, 503, 429, 503, 500, 429])
    yield server
    server.close()


LOW = Predictions.from_arrays([[0, 0, 10, 10]], [0.1], [0], class_name=["x"])


def run(server: FlakyServer, spool: Path, frames: int) -> dict[str, object]:
    collector = Collector(
        server=server.url,
        api_key="k",
        project="acme/cams",
        spool_dir=spool,
        rules=Sampler([ConfidenceBelow(0.4, name="low")]),
    )
    collector.uploader.base_delay, collector.uploader.max_delay = 0.02, 0.2  # type: ignore[union-attr]
    for i in range(frames):
        collector.observe(np.random.default_rng(i).integers(0, 256, (60, 80, 3), dtype=np.uint8), LOW)
    assert collector.flush(timeout=60)
    status = collector.status()
    collector.close()
    return status


def test_5xx_and_429_are_retried_until_everything_arrives_once(flaky: FlakyServer, tmp_path: Path) -> None:
    status = run(flaky, tmp_path / "spool", 10)
    assert len(flaky.stored) == 10 and set(flaky.stored.values()) == {1}
    rules = status["rules"]
    assert isinstance(rules, dict)
    assert rules["low"]["uploaded"] == 10 and rules["low"]["retried"] == 6 and not rules["low"]["dropped"]


def test_a_slow_server_only_slows_delivery(tmp_path: Path) -> None:
    slow = FlakyServer([], delay=0.2)
    try:
        status = run(slow, tmp_path / "spool", 5)
        assert len(slow.stored) == 5 and slow.requests == 5  # each answered late, none given up on
        rules = status["rules"]
        assert isinstance(rules, dict) and rules["low"]["uploaded"] == 5
    finally:
        slow.close()
