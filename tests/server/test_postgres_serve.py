"""``framescout serve`` on a real PostgreSQL (``FRAMESCOUT_DATABASE_URL``): uploads, concurrent identical
uploads deduplicated, listings, ``/readyz`` — and ``/readyz`` answering 503 once the database is gone
while ``/healthz`` (liveness) still answers."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import services
from served import UPLOADS, Served, prepare, scrape

DATABASE_URL = "FRAMESCOUT_DATABASE_URL"


def _readyz(served: Served) -> httpx.Response:
    return httpx.get(f"{served.server.url}/readyz", timeout=30)


def _twins(served: Served, data: bytes) -> list[httpx.Response]:
    """The same bytes uploaded by two clients released together."""
    gate = threading.Barrier(2)
    answers: list[httpx.Response] = []

    def send(name: str) -> None:
        gate.wait()
        answers.append(served.upload(data, name))

    threads = [threading.Thread(target=send, args=(name,)) for name in ("a.jpg", "b.jpg")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


@pytest.mark.slow
def test_serve_on_postgres_uploads_dedups_lists_and_is_ready(
    postgres: services.Postgres, tmp_path: Path, make_jpeg: Callable[..., bytes]
) -> None:
    url = postgres.database_url(f"serve_{secrets.token_hex(4)}")
    served = prepare(tmp_path / "data", {DATABASE_URL: url}, workers=2)
    with served.server:
        ready = _readyz(served)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "blob_store": "ok"}
        ids = set()
        for seed in range(4):
            answers = _twins(served, make_jpeg(seed=seed))
            assert sorted(a.status_code for a in answers) == [200, 201], [a.text for a in answers]
            assert len({a.json()["id"] for a in answers}) == 1
            assert sorted(a.json()["duplicate"] for a in answers) == [False, True]
            ids.add(answers[0].json()["id"])
        listed = httpx.get(f"{served.server.url}{UPLOADS}", headers=served.auth, timeout=30)
        assert listed.status_code == 200, listed.text
        assert {image["id"] for image in listed.json()["images"]} == ids
        metrics = scrape(served.server.url)
        assert metrics[("framescout_uploads_total", frozenset({("outcome", "new"), ("code", "")}))] == 4
        assert metrics[("framescout_uploads_total", frozenset({("outcome", "duplicate"), ("code", "")}))] == 4


@pytest.mark.slow
def test_readyz_answers_503_naming_the_database_once_postgres_stops(tmp_path: Path) -> None:
    cluster = services.start_postgres()  # its own: this test stops it
    try:
        served = prepare(tmp_path / "data", {DATABASE_URL: cluster.url})
        with served.server:
            assert _readyz(served).json()["status"] == "ready"
            cluster.stop()
            gone = _readyz(served)
            assert gone.status_code == 503, gone.text
            body = gone.json()
            assert body["status"] == "not_ready"
            assert body["checks"]["blob_store"] == "ok"
            assert body["checks"]["database"].startswith("failed: ")
            assert "framescout-test" not in gone.text  # no password or URL in an unauthenticated answer
            assert httpx.get(f"{served.server.url}/healthz", timeout=10).status_code == 200
    finally:
        cluster.stop()
