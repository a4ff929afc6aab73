"""The rules' ``storage`` key: which URIs are accepted (and the key-path error for the rest), what a rule's
own ``storage`` overrides, and how limit groups are keyed so two projects, two rules or an old and a new
limit never share a counter. No Redis needed: a shared storage is not contacted before a frame needs it."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from framescout import Predictions
from framescout.sampling import ConfigError, ManualClock, RandomSample, Sampler, parse_config
from framescout.sampling.limiter import group_key, parse_limits
from framescout.sampling.storage_uri import check_storage_uri, redact

NOBODY = "redis://127.0.0.1:1"  # nothing listens on port 1: any contact would fail (and fall back)
EMPTY = Predictions.empty()


@pytest.mark.parametrize(
    "uri",
    ["memory://", "redis://cache:6379", "redis://cache", "redis://10.0.0.5:6380/3", "rediss://u:pw@h:6379/0"],
)
def test_accepted_storages(uri: str) -> None:
    assert check_storage_uri(uri) == uri
    assert parse_config({"storage": uri, "rules": [{"type": "random", "probability": 1}]}).storage == uri


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"storage": "memcached://h:11211"},
            "storage: unsupported storage 'memcached://h:11211'; use memory:// (the default) or "
            "redis://host:port[/db] (rediss:// for TLS)",
        ),
        ({"storage": "redis://:6379"}, "storage: 'redis://:6379' names no host"),
        ({"storage": 6379}, "storage: expected a URI such as memory://"),
        ({"rule": "redis://h:port"}, "rules[0] (r).storage: 'redis://h:port': the port is not a number"),
        ({"rule": "redis://h:6379/x"}, "rules[0] (r).storage: 'redis://h:6379/x': the path is a database"),
        ({"rule": "redis://h:6379?ssl=1"}, "rules[0] (r).storage: 'redis://h:6379?ssl=1': options"),
        ({"rule": "redis+sentinel://h:26379"}, "rules[0] (r).storage: unsupported storage"),
        ({"rule": "memory"}, "rules[0] (r).storage: unsupported storage 'memory'"),
    ],
)
def test_a_bad_storage_is_an_error_naming_its_key(data: dict[str, Any], message: str) -> None:
    rule: dict[str, Any] = {"name": "r", "type": "random", "probability": 1}
    if "rule" in data:
        rule["storage"] = data.pop("rule")
    with pytest.raises(ConfigError) as caught:
        parse_config({**data, "rules": [rule]})
    assert message in str(caught.value)


def test_a_password_never_shows_in_an_error_or_a_status() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"storage": "redis://:hunter2@h:bad", "rules": [{"type": "random", "probability": 1}]})
    assert "hunter2" not in str(caught.value) and "redis://:***@h:bad" in str(caught.value)
    assert redact("rediss://me:hunter2@h:6379/1") == "rediss://me:***@h:6379/1"
    assert redact("redis://h:6379") == "redis://h:6379"


def test_keys_differ_by_project_rule_and_limit_settings() -> None:
    ten = parse_limits("10/minute; 200/hour")
    key = group_key("acme/parking", "rule", "hard-cases", ten)
    assert key == "framescout:acme/parking:rule:hard-cases:10/minute,200/hour"
    assert group_key("acme/parking", "rule", "hard-cases", parse_limits("10/minute; 200/hour")) == key
    others = {
        group_key("acme/gates", "rule", "hard-cases", ten),  # another project
        group_key("other/parking", "rule", "hard-cases", ten),  # another workspace
        group_key("acme/parking", "rule", "random", ten),  # another rule
        group_key("acme/parking", "rule", "hard-cases", parse_limits("20/minute; 200/hour")),  # changed
        group_key("acme/parking", "rule", "hard-cases", parse_limits("10/minute")),  # one limit fewer
        group_key("acme/parking", "global", "hard-cases", ten),  # the global group
        group_key(None, "rule", "hard-cases", ten),  # no project
    }
    assert key not in others and len(others) == 7
    assert group_key(None, "rule", "r", parse_limits("5/2 minutes")) == "framescout:-:rule:r:5/2minute"


def test_a_rule_with_memory_storage_counts_in_this_process_on_the_replay_clock() -> None:
    """The file's default is a Redis nobody runs; the rule that says memory:// never contacts it and
    follows the replay clock (a shared limit would count wall time and warn about the outage)."""
    config = parse_config(
        {
            "storage": NOBODY,
            "rules": [
                {
                    "name": "r",
                    "type": "random",
                    "probability": 1,
                    "limits": "2/minute",
                    "storage": "memory://",
                }
            ],
        }
    )
    clock = ManualClock(1_767_225_600.0)
    sampler = config.build(clock, namespace="acme/cams")
    assert [sampler.decide(EMPTY).keep for _ in range(3)] == [True, True, False]
    clock.advance(60)
    assert sampler.decide(EMPTY).keep
    assert sampler.shared_limits() == []  # the shared storage was never used


def test_shared_false_counts_every_limit_here() -> None:
    """`rules explain` builds with shared=False: a replay must not spend (or need) the fleet's Redis."""
    config = parse_config(
        {
            "storage": NOBODY,
            "rules": [{"name": "r", "type": "random", "probability": 1, "limits": "1/minute"}],
        }
    )
    clock = ManualClock(0.0)
    sampler = config.build(clock, shared=False)
    assert [sampler.decide(EMPTY).keep for _ in range(2)] == [True, False]
    clock.advance(60)
    assert sampler.decide(EMPTY).keep and sampler.shared_limits() == []


def test_shared_storages_lists_each_once_default_first() -> None:
    config = parse_config(
        {
            "storage": "redis://a:6379",
            "rules": [
                {"name": "x", "type": "random", "probability": 1, "storage": "redis://b:6379"},
                {"name": "y", "type": "random", "probability": 1, "storage": "memory://"},
                {"name": "z", "type": "random", "probability": 1, "storage": "redis://a:6379"},
            ],
        }
    )
    assert config.shared_storages() == ["redis://a:6379", "redis://b:6379"]


def test_a_sampler_built_in_python_refuses_a_bad_storage() -> None:
    with pytest.raises(ValueError, match="unsupported storage 'memcached://h'"):
        Sampler([RandomSample(1.0, name="r", storage="memcached://h")])
    with pytest.raises(ValueError, match="unsupported storage"):
        Sampler([RandomSample(1.0, name="r")], storage="mongodb://h")


def test_a_shared_storage_without_the_redis_package_is_refused_at_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # as if `pip install 'framescout[redis]'` never ran
    config = parse_config({"storage": NOBODY, "rules": [{"type": "random", "probability": 1}]})
    with pytest.raises(
        ValueError, match=r"needs the redis Python package: pip install 'framescout\[redis\]'"
    ):
        config.build()
    config.build(shared=False)  # a replay does not need it
