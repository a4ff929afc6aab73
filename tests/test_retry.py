"""The one retry policy: the SDK and the collector retry the same answers and back off the same way."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from framescout.client import ApiError, Client, RetryPolicy
from framescout.collector import Counters, FolderTransport, Outcome, Spool, Uploader, classify
from framescout.retry import RETRY_STATUSES, Backoff


def sdk_attempts(status: int) -> int:
    """How many requests the SDK sends (with two attempts allowed) when the server answers ``status``."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(status, json={"error": {"code": "boom", "message": "no"}})

    policy = RetryPolicy(attempts=2, base=0.0001, cap=0.0002)
    client = Client("http://fs.invalid", "k", retry=policy, transport=httpx.MockTransport(handler))
    with client, pytest.raises(ApiError):
        client.whoami()
    return calls


def test_the_sdk_and_the_collector_retry_the_same_4xx_and_the_set_is_transient() -> None:
    sdk_retried = {status for status in range(400, 600) if sdk_attempts(status) == 2}
    assert sdk_retried == RETRY_STATUSES
    assert {408, 429, 503} <= RETRY_STATUSES
    collector_retried_4xx = {s for s in range(400, 500) if classify(s) is Outcome.TRANSIENT}
    assert collector_retried_4xx == {s for s in sdk_retried if s < 500}
    assert all(classify(status) is Outcome.TRANSIENT for status in RETRY_STATUSES)


def test_backoff_is_full_jitter_or_floored_and_capped() -> None:
    rng = random.Random(1)
    full, floored = Backoff(0.5, 60.0), Backoff(1.0, 30.0, floor=0.5)
    assert [full.ceiling(n) for n in (0, 1, 3, 7, 8, 10_000)] == [0.5, 1.0, 4.0, 60.0, 60.0, 60.0]
    waits = [full.delay(2, rng) for _ in range(500)]
    assert 0 <= min(waits) < 0.2 and 1.8 < max(waits) <= 2.0
    probes = [floored.delay(3, rng) for _ in range(500)]
    assert 4.0 <= min(probes) < 4.2 and 7.8 < max(probes) <= 8.0
    assert all(15.0 <= floored.delay(40, rng) <= 30.0 for _ in range(100))


def test_the_uploader_and_the_sdk_draw_their_waits_from_the_shared_backoff(tmp_path: Path) -> None:
    policy = RetryPolicy(base=0.5, cap=4.0)
    assert policy.delay(2, rng=random.Random(7)) == Backoff(0.5, 4.0).delay(2, random.Random(7))
    spool, out = Spool(tmp_path / "spool"), FolderTransport(tmp_path / "out")
    uploader = Uploader(spool, out, Counters(), seed=7)  # the defaults: 0.5 s -> 60 s, pause 1 s -> 30 s
    uploader._failures, uploader._pauses = 3, 2  # as after three transient failures and two probes
    expected = random.Random(7)
    assert uploader.backoff() == Backoff(0.5, 60.0).delay(3, expected)
    assert uploader.pause_delay() == Backoff(1.0, 30.0, floor=0.5).delay(2, expected)
    spool.close()
