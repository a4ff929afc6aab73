"""Server fixtures: a data directory with two workspaces, keys and projects, and an in-process client."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from backends import Backend, Backends
from framescout.server import Settings, create_app
from framescout.server.process import ServerProcess
from framescout.store import Store
from framescout.store.accounts import create_key, create_project, get_or_create_workspace

DRIVER = Path(__file__).with_name("rf_driver.py")


def jpeg(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    """A small real JPEG whose bytes differ per ``seed``."""
    image = Image.new("RGB", (width, height), ((seed * 37) % 256, (seed * 91) % 256, (seed * 13) % 256))
    image.putpixel((seed % width, (seed // width) % height), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="session")
def make_jpeg() -> Callable[..., bytes]:
    return jpeg


@dataclass
class Env:
    store: Store
    client: TestClient
    key: str
    other_key: str

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}

    def stored_blobs(self) -> list[str]:
        """The hashes in the blob store (a directory or an S3 prefix)."""
        return self.store.blobs.iter_hashes()

    def image_rows(self) -> int:
        from sqlalchemy import func, select

        from framescout.store.models import Image as ImageRow

        with self.store.db.reading() as session:
            return int(session.scalar(select(func.count()).select_from(ImageRow)) or 0)


@dataclass
class Live:
    """A real ``framescout serve`` process with workspace ``acme`` (key) and ``other`` (other_key)."""

    server: ServerProcess
    key: str
    other_key: str

    def roboflow(self, flow: str, **args: Any) -> Any:
        """Run one flow of the official roboflow package in a child process pointed at this server."""
        env = {
            **os.environ,
            "API_URL": self.server.url,
            "OBJECT_DETECTION_URL": self.server.url,
            "ROBOFLOW_CONFIG_DIR": str(self.server.data_dir / "no-roboflow-config.json"),
            "TQDM_DISABLE": "1",
        }
        done = subprocess.run(
            [sys.executable, str(DRIVER), flow, json.dumps({"key": self.key, **args})],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            output = f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
            raise AssertionError(f"roboflow flow {flow} failed:\n{output}")
        return json.loads(lines[-1][len("RESULT ") :])


@pytest.fixture(scope="session")
def live(
    tmp_path_factory: pytest.TempPathFactory, backend_kind: str, backend_factory: Backends
) -> Iterator[Live]:
    """One server per store kind for the session (its admin commands get the same environment)."""
    # Loopback is refused to URL fetches by default; the tests' image host lives there.
    env = {"FRAMESCOUT_FETCH_ALLOW": "127.0.0.1", **backend_factory.make(backend_kind).env}
    server = ServerProcess(Path(tmp_path_factory.mktemp("live")) / "data", env=env)
    key, other_key = server.create_key("acme"), server.create_key("other")
    server.cli("projects", "create", "acme/coco", "--type", "object-detection")
    server.cli("projects", "create", "acme/picked")
    server.cli("projects", "create", "other/private")
    with server:
        yield Live(server, key, other_key)


@pytest.fixture(scope="session")
def image_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A plain HTTP server on loopback serving a folder: hosted images for URL uploads."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    folder = Path(tmp_path_factory.mktemp("hosted"))

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", folder
    httpd.shutdown()


class TrickHost:
    """A loopback HTTP server with the answers a URL fetch must survive (one thread per connection).

    ``/drip?every=S&n=N`` sends its headers, then one byte every ``S`` seconds (``N`` bytes declared);
    ``/redirect?to=URL`` answers 302; ``/big?n=N`` sends N bytes without a length; ``/text`` is HTML;
    ``/status/NNN`` answers that status; anything else serves ``files`` (name → bytes)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlsplit

        self.files: dict[str, bytes] = {}
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                import time

                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                try:
                    if url.path == "/drip":
                        every, count = float(query.get("every", "2")), int(query.get("n", "1000"))
                        self.send_response(200)
                        self.send_header("Content-Type", "image/jpeg")
                        self.send_header("Content-Length", str(count))
                        self.end_headers()
                        for _ in range(count):
                            self.wfile.write(b"\xff")
                            self.wfile.flush()
                            time.sleep(every)
                    elif url.path == "/redirect":
                        self._send(302, b"", "text/plain", Location=query["to"])
                    elif url.path == "/big":
                        self.send_response(200)
                        self.send_header("Content-Type", "image/jpeg")
                        self.send_header("Connection", "close")
                        self.end_headers()
                        self.wfile.write(b"\xff\xd8" + b"\0" * int(query["n"]))
                        self.close_connection = True
                    elif url.path == "/text":
                        self._send(200, b"<html>captive portal</html>", "text/html")
                    elif url.path.startswith("/status/"):
                        self._send(int(url.path.rsplit("/", 1)[1]), b"no", "text/plain")
                    elif url.path.lstrip("/") in host.files:
                        self._send(200, host.files[url.path.lstrip("/")], "image/jpeg")
                    else:
                        self._send(404, b"not found", "text/plain")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the fetcher gave up: what a deadline looks like

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture(scope="module")
def trick_host() -> Iterator[TrickHost]:
    host = TrickHost()
    yield host
    host.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def env(tmp_path: Path, backend: Backend) -> Iterator[Env]:
    """The app in-process over a fresh store: SQLite, or PostgreSQL + S3 in a ``both_backends`` module."""
    store = backend.open(tmp_path / "data")
    with store.db.writing() as session:
        acme = get_or_create_workspace(session, "acme")
        other = get_or_create_workspace(session, "other")
        key, other_key = create_key(session, acme), create_key(session, other)
        create_project(session, acme, "cams", classes=["person", "car", "dog"])
        create_project(session, acme, "open")
        create_project(session, other, "secret")
    settings = Settings(
        data_dir=tmp_path / "data",
        max_upload_bytes=2_000_000,
        max_pixels=4_000_000,
        fetch_allow=("127.0.0.1",),  # the loopback image_host fixture
    )
    with TestClient(create_app(settings, store)) as client:
        yield Env(store, client, key, other_key)
    store.close()
