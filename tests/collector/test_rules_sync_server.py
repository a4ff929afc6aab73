"""`RulesSync` against a real server process: refusals are errors at start, a project without rules
samples by the built-in stack until a push, a push reaches a running collector within an interval,
and a boot with the current version cached costs a 304."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml

from framescout import Predictions
from framescout.collector import Collector, RulesRefused, RulesSync, ServedRules
from framescout.collector.rules_sync import CACHE_NAME
from framescout.server.process import ServerProcess
from video_cut import cut_stream

PROJECT = "acme/cams"
IMAGE = np.zeros((48, 64, 3), np.uint8)
NONE = Predictions.empty()
RULES = {"rules": [{"name": "empty", "type": "nothing_detected", "limits": {"per_minute": 2}}]}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    server = ServerProcess(tmp_path_factory.mktemp("rules-sync") / "server")
    key = server.create_key("acme")
    server.cli("projects", "create", PROJECT)
    server.cli("projects", "create", "acme/bare")
    with server:
        yield server, key


def push(server: ServerProcess, key: str, doc: Mapping[str, object], project: str = PROJECT) -> str:
    answer = httpx.put(
        f"{server.url}/api/v1/projects/{project}/rules",
        content=yaml.safe_dump(doc),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/yaml"},
    )
    assert answer.status_code in (200, 201), answer.text
    return str(answer.headers["etag"]).strip('"')


@pytest.mark.parametrize(
    ("key", "project", "expected"),
    [
        ("not-a-key", PROJECT, "401 invalid_api_key"),
        (None, "acme/typo", "404 project_not_found"),
        (None, "someone-else/cams", "404 workspace_not_found"),
    ],
    ids=["wrong-key", "unknown-project", "other-workspace"],
)
def test_a_wrong_key_or_project_is_an_error_at_start(
    live: tuple[ServerProcess, str], tmp_path: Path, key: str | None, project: str, expected: str
) -> None:
    server, good = live
    sync = RulesSync(server.url, key or good, project, cache_dir=tmp_path)
    with pytest.raises(RulesRefused, match=expected):
        sync.boot()
    sync.stop()
    assert not (tmp_path / CACHE_NAME).exists()


def test_no_rules_yet_samples_by_the_built_in_stack_until_a_push(
    live: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, key = live
    sync = RulesSync(server.url, key, "acme/bare", cache_dir=tmp_path, interval=0.2)
    boot = sync.boot()
    assert boot.rules is None and boot.note and "no rules on the server yet" in boot.note
    with Collector(rules_sync=sync, spool_dir=tmp_path / "spool") as collector:
        assert collector.status()["rules_etag"] is None
        assert collector.observe(IMAGE, NONE).rule == "nothing-detected"  # the built-in stack's
        etag = push(server, key, RULES, "acme/bare")
        deadline = time.monotonic() + 20
        while collector.status()["rules_etag"] != etag and time.monotonic() < deadline:
            time.sleep(0.05)
            collector.observe(IMAGE, NONE)
        assert collector.status()["rules_etag"] == etag
        assert collector.observe(IMAGE, NONE).rule in {"empty", None}
        assert [r.name for r in collector.sampler.rules] == ["empty"]
    assert sync.status()["etag"] == etag and sync.status()["last_error"] is None


def test_a_boot_with_the_current_version_cached_is_answered_304(
    live: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, key = live
    etag = push(server, key, RULES)
    first = RulesSync(server.url, key, PROJECT, cache_dir=tmp_path)
    assert first.boot().rules is not None
    first.stop()
    written = (tmp_path / CACHE_NAME).stat().st_mtime_ns
    again = RulesSync(server.url, key, PROJECT, cache_dir=tmp_path)
    boot = again.boot()
    again.stop()
    assert boot.source == "server" and boot.rules is not None and boot.rules.etag == etag
    assert (tmp_path / CACHE_NAME).stat().st_mtime_ns == written  # 304: nothing new to cache


def test_a_version_the_collector_refuses_is_ignored_and_the_previous_one_stays(
    live: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    """The collector's `offer_rules` raises `ValueError` for a version it cannot build (a newer
    server's rule type, a storage without its client library): the sync records why, does not cache
    it, keeps the version in force, and does not build it again while the server serves it."""
    server, key = live
    first = push(server, key, RULES)
    sync = RulesSync(server.url, key, PROJECT, cache_dir=tmp_path)
    assert sync.boot().rules is not None
    newer = push(server, key, {"rules": [{"name": "other", "type": "nothing_detected"}]})
    offered: list[str] = []

    def refuse(rules: ServedRules) -> None:
        offered.append(rules.etag)
        raise ValueError("this device cannot run it")

    assert sync.check(refuse) is False
    assert sync.check(refuse) is False
    sync.stop()
    assert offered == [newer]  # refused once, not rebuilt at every check
    status = sync.status()
    assert status["etag"] == first and status["rejected"] == {
        newer: f"the collector refused rules {newer[:12]}: this device cannot run it"
    }
    assert json.loads((tmp_path / CACHE_NAME).read_text())["etag"] == first


def test_pushed_novelty_rules_are_validated_followed_and_keep_their_model_across_a_version(
    live: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    """Server-held ``scene_change`` rules: the server refuses a bad embedder with its key path; a
    collector booted from the server keeps the cut of a real stream, and a new version that changes
    only another rule leaves the scene model warm (`Sampler.swap`)."""
    server, key = live
    bad = {"rules": [{"type": "scene_change", "embedder": "clip"}]}
    answer = httpx.put(
        f"{server.url}/api/v1/projects/{PROJECT}/rules",
        content=yaml.safe_dump(bad),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/yaml"},
    )
    assert answer.status_code == 422 and "rules[0].embedder: use color-texture" in answer.text
    scene = {"name": "scene", "type": "scene_change"}
    push(server, key, {"rules": [scene, {"name": "low", "type": "confidence", "below": 0.1}]})
    stream = cut_stream()
    cut = stream.cuts[0]
    sync = RulesSync(server.url, key, PROJECT, cache_dir=tmp_path)
    with Collector(rules_sync=sync, spool_dir=tmp_path / "spool") as collector:
        steady = [
            collector.observe(f, NONE, timestamp=i / 25).keep for i, f in enumerate(stream.frames[:cut])
        ]
        assert not any(steady)
        newer = push(server, key, {"rules": [scene, {"name": "low", "type": "confidence", "below": 0.2}]})
        assert sync.check(collector.offer_rules) is True
        decision = collector.observe(stream.frames[cut], NONE, timestamp=cut / 25)
        assert collector.status()["rules_etag"] == newer
        assert decision.rule == "scene" and decision.reason.startswith("scene change: distance 0.")
