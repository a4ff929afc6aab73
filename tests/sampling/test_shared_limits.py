"""Limits shared through a real Redis (Debian's redis-server on a free port, `services.start_redis`):
samplers of one project share each counter, other projects and changed limits do not, a reset clears
only its own keys; when Redis stops or hangs mid-run, decisions go on at once from this process's
limits (a warning, a counter) and are shared again once the server answers."""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import services
from framescout import Predictions
from framescout.sampling import Sampler, parse_config
from framescout.sampling import shared_limits as shared_module

EMPTY = Predictions.empty()


def rules(url: str, per_rule: str = "5/minute", **top: Any) -> dict[str, Any]:
    return {
        "storage": url,
        **top,
        "rules": [{"name": "all", "type": "random", "probability": 1, "limits": per_rule}],
    }


def kept(sampler: Sampler, frames: int) -> int:
    return sum(sampler.decide(EMPTY).keep for _ in range(frames))


def project() -> str:
    return f"acme/p-{uuid.uuid4().hex[:8]}"  # each test its own namespace in the session's server


def test_two_samplers_of_one_project_share_the_limit(redis: services.Redis) -> None:
    config = parse_config(rules(redis.url))
    name = project()
    first, second = config.build(namespace=name), config.build(namespace=name)
    assert kept(first, 3) == 3
    assert kept(second, 10) == 2  # 5 a minute in total, not 5 each
    assert kept(first, 10) == 0
    assert first.remaining()["all"] == {"5 per 1 minute": 0}
    assert first.shared_limits() == [
        {"storage": redis.url, "state": "shared", "outages": 0, "local_decisions": 0, "last_error": None}
    ]


def test_other_projects_and_changed_limits_count_apart(redis: services.Redis) -> None:
    name = project()
    assert kept(parse_config(rules(redis.url)).build(namespace=name), 10) == 5
    assert kept(parse_config(rules(redis.url)).build(namespace=project()), 10) == 5  # another project
    assert kept(parse_config(rules(redis.url, "7/minute")).build(namespace=name), 10) == 7  # a new limit


def test_the_keys_in_redis_name_project_rule_and_limits(redis: services.Redis) -> None:
    import redis as redis_client  # the redis extra (in dev)

    name = project()
    sampler = parse_config(rules(redis.url, "5/minute; 50/hour", limits={"per_hour": 100})).build(
        namespace=name
    )
    assert kept(sampler, 1) == 1
    client = redis_client.Redis(port=redis.port, decode_responses=True)
    keys = sorted(str(k) for k in client.keys(f"*{name}*"))
    rule = f"framescout:{name}:rule:all:5/minute,50/hour"
    glob = f"framescout:{name}:global:all:100/hour"
    assert keys == sorted(
        [
            f"LIMITS:LIMITER/{rule}/5/1/minute",
            f"LIMITS:LIMITER/{rule}/50/1/hour",
            f"LIMITS:LIMITER/{glob}/100/1/hour",
        ]
    )
    other = parse_config(rules(redis.url)).build(namespace=project())
    assert kept(other, 1) == 1
    sampler.reset()  # clears this sampler's keys only
    assert client.keys(f"*{name}*") == [] and len(client.keys(f"*{other.namespace}*")) == 1
    assert kept(sampler, 10) == 5
    client.close()


@pytest.fixture
def own_redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[services.Redis]:
    """A server of this test's own, to stop and start again; probes every 0.2 s, replies time out in 0.3 s."""
    monkeypatch.setattr(shared_module, "RETRY_INTERVAL", 0.2)
    monkeypatch.setattr(shared_module, "SOCKET_TIMEOUT", 0.3)
    server = services.start_redis()
    try:
        yield server
    finally:
        server.stop()


def wait_for(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_a_stopped_redis_falls_back_to_local_limits_then_shares_again(
    own_redis: services.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    config = parse_config(rules(own_redis.url, "20/minute"))
    sampler, name = config.build(namespace="acme/cams"), "acme/cams"
    assert kept(sampler, 5) == 5
    own_redis.stop()
    with caplog.at_level(logging.WARNING, logger="framescout.sampling"):
        started = time.monotonic()
        decisions = [sampler.decide(EMPTY) for _ in range(30)]  # never raises
        took = time.monotonic() - started
    assert took < 1.0  # refused at once; later frames do not even try
    assert sum(d.keep for d in decisions) == 20  # this process's own 20 a minute, from zero
    status = sampler.shared_limits()[0]
    assert status["state"] == "local" and status["outages"] == 1 and status["local_decisions"] == 30
    assert "ConnectionError" in status["last_error"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and f"{own_redis.url} unreachable" in warnings[0]
    back = services.start_redis(own_redis.port)  # the same address, an empty server
    try:
        assert wait_for(lambda: sampler.shared_limits()[0]["state"] == "shared")
        other = config.build(namespace=name)
        assert kept(sampler, 8) == 8 and kept(other, 30) == 12  # shared again: 20 in total
        assert sampler.shared_limits()[0]["local_decisions"] == 30
    finally:
        back.stop()


@pytest.mark.slow
def test_a_hung_redis_costs_one_timeout_then_nothing(own_redis: services.Redis) -> None:
    """SIGSTOP: connections are accepted but never answered. One frame waits for the socket timeout;
    the frames after it are decided locally without waiting; SIGCONT and it is shared again."""
    sampler = parse_config(rules(own_redis.url, "100/minute")).build(namespace=project())
    assert kept(sampler, 2) == 2
    os.kill(own_redis.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert sampler.decide(EMPTY).keep
        first = time.monotonic() - started
        started = time.monotonic()
        assert kept(sampler, 50) == 50
        rest = time.monotonic() - started
        assert 0.2 < first < 2.0 and rest < 0.5, (first, rest)
        status = sampler.shared_limits()[0]
        assert status["state"] == "local" and "Timeout" in status["last_error"]
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)
    assert wait_for(lambda: sampler.shared_limits()[0]["state"] == "shared")
    assert kept(sampler, 200) == 98  # the 2 from before the hang are still in Redis's window
