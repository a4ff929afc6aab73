"""Server-side URL fetches: refused ranges, one error text, same-host redirects, total deadline, cap.

Real sockets throughout: the in-process app fetches from a real loopback HTTP server (`TrickHost`),
allowed through ``fetch_allow`` where a test needs to reach it."""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from framescout.server import Settings, create_app
from framescout.server.fetch import FetchPolicy, parse_allow, refused_range
from framescout.store import Store
from framescout.store.accounts import create_key, create_project, get_or_create_workspace

URL = "/api/v1/projects/acme/open/images"
DEADLINE = 1.5


class App:
    def __init__(self, client: TestClient, store: Store, key: str) -> None:
        self.client, self.store, self.key = client, store, key

    def upload_url(self, url: str) -> tuple[int, dict[str, Any], float]:
        started = time.monotonic()
        response = self.client.post(URL, headers={"Authorization": f"Bearer {self.key}"}, data={"url": url})
        return response.status_code, response.json(), time.monotonic() - started


def _app(root: Path, allow: tuple[str, ...]) -> Iterator[App]:
    store = Store.open(root)
    with store.db.writing() as session:
        acme = get_or_create_workspace(session, "acme")
        key = create_key(session, acme)
        create_project(session, acme, "open")
    settings = Settings(data_dir=root, max_upload_bytes=200_000, fetch_timeout=DEADLINE, fetch_allow=allow)
    with TestClient(create_app(settings, store)) as client:
        yield App(client, store, key)
    store.close()


@pytest.fixture
def default_app(tmp_path: Path) -> Iterator[App]:
    """The default policy: nothing private is reachable."""
    yield from _app(tmp_path / "default", ())


@pytest.fixture
def loopback_app(tmp_path: Path) -> Iterator[App]:
    """Loopback allowed (as the tests' image hosts need)."""
    yield from _app(tmp_path / "loopback", ("127.0.0.0/8",))


def _failed(status: int, body: dict[str, Any]) -> str:
    assert status == 422 and body["error"]["code"] == "fetch_failed", body
    message: str = body["error"]["message"]
    return message


def test_every_refusal_and_failure_reads_the_same(
    default_app: App,
    loopback_app: App,
    trick_host: Any,
    closed_port: int,
    make_jpeg: Callable[..., bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    trick_host.files["ok.jpg"] = make_jpeg(seed=1)
    status, body, _ = loopback_app.upload_url(f"{trick_host.url}/ok.jpg")
    assert status == 201, body  # reachable once allowed

    refused = [
        f"{trick_host.url}/ok.jpg",  # loopback, a real image behind it
        f"http://localhost:{trick_host.port}/ok.jpg",  # a name that resolves to loopback
        f"http://[::1]:{trick_host.port}/ok.jpg",
        f"http://[::ffff:127.0.0.1]:{trick_host.port}/ok.jpg",  # IPv4-mapped IPv6
        f"http://2130706433:{trick_host.port}/ok.jpg",  # 127.0.0.1 as one decimal number
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://10.0.0.1/x.jpg",
        "http://192.168.1.1/x.jpg",
        "http://[fe80::1]/x.jpg",
        "http://224.0.0.1/x.jpg",
    ]
    with caplog.at_level(logging.WARNING, logger="framescout.server.fetch"):
        messages = {_failed(*default_app.upload_url(url)[:2]) for url in refused}
    reasons = [r.getMessage() for r in caplog.records if r.name == "framescout.server.fetch"]
    assert len(reasons) == len(refused)  # each refused for its address, before any connection
    assert all("not in the fetch allow-list" in reason for reason in reasons), reasons
    failures = [
        f"http://127.0.0.1:{closed_port}/x.jpg",  # closed port
        f"{trick_host.url}/drip?every=1&n=100",  # times out
        f"{trick_host.url}/text",  # not an image
        f"{trick_host.url}/status/500",
        f"{trick_host.url}/missing.jpg",  # 404
        f"{trick_host.url}/big?n=300000",  # over the byte cap, no Content-Length
        f"{trick_host.url}/drip?every=0&n=300000",  # over the cap by Content-Length
        f"{trick_host.url}/redirect?to=http://localhost:{trick_host.port}/ok.jpg",  # another host
    ]
    messages |= {_failed(*loopback_app.upload_url(url)[:2]) for url in failures}
    assert len(messages) == 1, messages  # one text for all: no port scanning through the server
    assert "could not fetch an image from the URL" in messages.pop()
    with default_app.store.db.reading() as session:
        from sqlalchemy import func, select

        from framescout.store.models import Image

        assert session.scalar(select(func.count()).select_from(Image)) == 0  # nothing stored


def test_not_a_url_is_its_own_error(default_app: App) -> None:
    for bad in ("file:///etc/passwd", "ftp://example.com/x.jpg", "no scheme", "http://"):
        status, body, _ = default_app.upload_url(bad)
        assert status == 422 and body["error"]["code"] == "invalid_url", (bad, body)


def test_redirects_only_to_the_same_host(
    loopback_app: App, trick_host: Any, make_jpeg: Callable[..., bytes]
) -> None:
    trick_host.files["target.jpg"] = make_jpeg(seed=2)
    same = f"{trick_host.url}/redirect?to=/target.jpg"
    status, body, _ = loopback_app.upload_url(same)
    assert status == 201, body
    other = f"{trick_host.url}/redirect?to=http://localhost:{trick_host.port}/target.jpg"
    assert _failed(*loopback_app.upload_url(other)[:2])
    # A chain longer than 3 hops is refused even on the same host.
    chain = "/target.jpg"
    for _ in range(4):
        chain = f"/redirect?to={chain.replace('?', '%3F').replace('=', '%3D').replace('&', '%26')}"
    assert _failed(*loopback_app.upload_url(f"{trick_host.url}{chain}")[:2])


def test_the_deadline_is_total_not_per_read(loopback_app: App, trick_host: Any) -> None:
    # A byte every 0.3 s never trips a per-read timeout; the total deadline still ends the fetch.
    status, body, elapsed = loopback_app.upload_url(f"{trick_host.url}/drip?every=0.3&n=1000")
    _failed(status, body)
    assert DEADLINE - 0.1 <= elapsed < DEADLINE + 1.5, elapsed


def test_roboflow_upload_image_url_follows_the_same_policy(
    default_app: App, loopback_app: App, trick_host: Any, make_jpeg: Callable[..., bytes]
) -> None:
    trick_host.files["rf.jpg"] = make_jpeg(seed=3)
    url = f"{trick_host.url}/rf.jpg"
    refused = default_app.client.post(f"/dataset/open/upload?api_key={default_app.key}&image={url}")
    allowed = loopback_app.client.post(f"/dataset/open/upload?api_key={loopback_app.key}&image={url}")
    assert _failed(refused.status_code, refused.json())
    assert allowed.status_code == 200 and allowed.json()["success"] is True, allowed.text


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.0.1", True),
        ("100.64.0.1", True),  # carrier-grade NAT
        ("169.254.169.254", True),
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("240.0.0.1", True),
        ("255.255.255.255", True),
        ("::", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("ff02::1", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:10.0.0.1", True),
        ("2002:7f00:1::1", True),  # 6to4 of 127.0.0.1
        ("64:ff9b::a00:1", True),  # NAT64 of 10.0.0.1
        ("8.8.8.8", False),
        ("1.1.1.1", False),
        ("::ffff:8.8.8.8", False),
        ("2606:4700:4700::1111", False),
    ],
)
def test_refused_ranges(address: str, refused: bool) -> None:
    assert (refused_range(ipaddress.ip_address(address)) is not None) is refused


def test_allow_list_entries() -> None:
    networks, hosts = parse_allow(["10.0.0.0/8", " 127.0.0.1 ", "::1", "Images.LAN", ""])
    assert [str(n) for n in networks] == ["10.0.0.0/8", "127.0.0.1/32", "::1/128"] and hosts == {"images.lan"}
    policy = FetchPolicy(allow=("127.0.0.1",))
    policy.check_address("x", ipaddress.ip_address("::ffff:127.0.0.1"))  # mapped form allowed too
    with pytest.raises(ValueError, match="neither a CIDR nor a host name"):
        parse_allow(["10.0.0.0/8 junk"])


def test_cli_defaults_agree_with_settings(tmp_path: Path) -> None:
    from framescout.cli import serve

    settings = Settings(data_dir=tmp_path)
    assert (
        settings.fetch_timeout,
        settings.fetch_concurrency,
    ) == (serve.FETCH_TIMEOUT, serve.FETCH_CONCURRENCY)


def test_serve_refuses_a_bad_allow_list_entry(tmp_path: Path) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "framescout", "serve", "--data-dir", str(tmp_path / "d")]
    done = subprocess.run(
        [*command, "--fetch-allow", "10.0.0.0/8,not a host!"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "--fetch-allow" in done.stderr + done.stdout, done
    assert "'not a host!' is neither a CIDR nor a host name" in done.stderr + done.stdout
