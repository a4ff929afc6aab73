"""Revocation on a real two-worker server: a key revoked through the CLI, through the API, or deleted
from the table with a plain SQL client is refused by every worker within 1 s, and its browser session
ends. Each request opens a fresh connection so that both worker processes serve the traffic."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from framescout.server.process import ServerProcess

pytestmark = pytest.mark.slow

DEADLINE = 1.0  # seconds from the revocation's commit
WATCH = 2.5  # how long requests keep coming after it (at least)
WATCH_MAX = 20.0  # ... and longer on a loaded machine, until LATE_REQUESTS were sent after DEADLINE
LATE_REQUESTS = 40
THREADS = 8


@dataclass
class Live:
    server: ServerProcess
    admin: str

    def key_id(self, name: str) -> str:
        listed: list[dict[str, str]] = httpx.get(
            f"{self.server.url}/api/v1/workspaces/acme/keys",
            headers={"Authorization": f"Bearer {self.admin}"},
            timeout=10,
        ).json()["keys"]
        return next(k["id"] for k in listed if k["name"] == name)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    server = ServerProcess(tmp_path_factory.mktemp("revoke") / "data", workers=2)
    admin = server.create_key("acme")
    with server:
        yield Live(server, admin)


def _status(url: str, headers: dict[str, str]) -> int:
    # A new client per request: a new connection, so the kernel spreads them over both workers.
    return httpx.get(url, headers={**headers, "Connection": "close"}, timeout=10).status_code


def _burst(url: str, headers: dict[str, str], count: int) -> list[int]:
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(lambda _: _status(url, headers), range(count)))


def _after(revoke: Callable[[], object], url: str, headers: dict[str, str]) -> list[tuple[float, int]]:
    """Revoke, then send requests for `WATCH` seconds: (seconds after the revocation, status)."""
    revoke()
    start = time.monotonic()
    seen: list[tuple[float, int]] = []

    def late() -> int:
        return sum(1 for sent, _ in seen if sent >= DEADLINE)

    def one(_: int) -> None:
        while (sent := time.monotonic() - start) < WATCH or (late() < LATE_REQUESTS and sent < WATCH_MAX):
            seen.append((sent, _status(url, headers)))

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, range(THREADS)))
    return seen


def _check(seen: list[tuple[float, int]], refused: int) -> float:
    late = [status for sent, status in seen if sent >= DEADLINE]
    assert len(late) >= LATE_REQUESTS, f"only {len(late)} requests after {DEADLINE} s"
    assert set(late) == {refused}, sorted(set(late))
    served = [sent for sent, status in seen if status != refused]
    return max(served, default=0.0)  # when the last request still got through


def _new_key(live: Live, name: str) -> tuple[str, str]:
    key = live.server.cli("keys", "create", "--workspace", "acme", "--name", name).strip().splitlines()[-1]
    return key, live.key_id(name)


def _warm(live: Live, key: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    assert set(_burst(f"{live.server.url}/api/v1/whoami", headers, 80)) == {200}
    return headers


def test_cli_revocation_reaches_every_worker_within_a_second(live: Live) -> None:
    key, key_id = _new_key(live, "cli")
    headers = _warm(live, key)
    revoke = lambda: live.server.cli("keys", "revoke", key_id)  # noqa: E731
    last_ok = _check(_after(revoke, f"{live.server.url}/api/v1/whoami", headers), 401)
    assert last_ok < DEADLINE
    listed = live.server.cli("keys", "list", "--workspace", "acme")
    assert key_id in listed and key not in listed


def test_api_revocation_reaches_every_worker_within_a_second(live: Live) -> None:
    key, key_id = _new_key(live, "api")
    headers = _warm(live, key)

    def revoke() -> None:
        done = httpx.delete(
            f"{live.server.url}/api/v1/workspaces/acme/keys/{key_id}",
            headers={"Authorization": f"Bearer {live.admin}"},
            timeout=10,
        )
        assert done.status_code == 200, done.text

    _check(_after(revoke, f"{live.server.url}/api/v1/whoami", headers), 401)
    # The admin key itself still works on every worker.
    assert set(_burst(f"{live.server.url}/api/v1/whoami", {"Authorization": f"Bearer {live.admin}"}, 20)) == {
        200
    }


def test_a_key_deleted_from_the_table_stops_within_a_second(live: Live) -> None:
    key, key_id = _new_key(live, "sql")
    headers = _warm(live, key)

    def delete_row() -> None:
        conn = sqlite3.connect(live.server.data_dir / "framescout.db", timeout=30)
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("DELETE FROM api_keys WHERE id = ?", (key_id,))
        conn.commit()
        conn.close()

    _check(_after(delete_row, f"{live.server.url}/api/v1/whoami", headers), 401)


def _ui_session(live: Live, key: str) -> str:
    with httpx.Client(base_url=live.server.url, timeout=10) as client:
        form = client.get("/ui/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
        assert token, form.text
        done = client.post("/ui/login", data={"api_key": key, "login_csrf": token.group(1)})
        assert done.status_code == 303 and done.headers["location"] == "/ui/", done.text[:500]
        return str(client.cookies["framescout_session"])


def test_revocation_ends_the_keys_ui_session_on_every_worker(live: Live) -> None:
    key, key_id = _new_key(live, "ui")
    cookie = {"Cookie": f"framescout_session={_ui_session(live, key)}", "Accept": "text/html"}
    page = f"{live.server.url}/ui/"
    assert set(_burst(page, cookie, 60)) == {200}  # warms both workers' session caches
    revoke = lambda: live.server.cli("keys", "revoke", key_id)  # noqa: E731
    _check(_after(revoke, page, cookie), 303)  # redirected to the sign-in page
    redirect = httpx.get(page, headers=cookie, timeout=10)
    assert redirect.status_code == 303 and redirect.headers["location"].startswith("/ui/login")


def test_headers_on_a_real_server(live: Live) -> None:
    for path in ("/healthz", "/api/v1/whoami", "/ui/login", "/ui/static/app.css", "/api/v1/nope"):
        response = httpx.get(f"{live.server.url}{path}", timeout=10)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "same-origin", path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path


def test_data_dir_is_announced(live: Live) -> None:
    from helpers import framescout

    done = framescout("keys", "list", "--data-dir", str(live.server.data_dir))
    assert done.returncode == 0, done.stderr
    assert f"data directory: {Path(live.server.data_dir).resolve()}" in done.stderr
