"""The collector side of following the server's rules, without a server: a version offered from
another thread is swapped in between two frames (limit state of unchanged rules intact), an
unbuildable one is refused, and the cache an offline boot starts from."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
import yaml

from framescout import Predictions
from framescout.collector import Collector, RulesSync, RulesUnavailable, ServedRules
from framescout.collector.rules_sync import CACHE_NAME, parse_rules
from framescout.sampling import ConfigError, ManualClock, Sampler, SamplingConfig
from framescout.sampling.rule_configs import RandomConfig
from framescout.server.process import free_port

IMAGE = np.zeros((48, 64, 3), np.uint8)
LOW = Predictions.from_arrays(
    [[1, 1, 20, 20]], [0.2], [0], class_name=["car"], image_width=64, image_height=48
)
NONE = Predictions.empty()

EMPTY_RULE: dict[str, object] = {"name": "empty", "type": "nothing_detected", "limits": {"per_minute": 4}}
RULES_A = {"rules": [EMPTY_RULE, {"name": "low", "type": "confidence", "below": 0.5}]}


def served(doc: Mapping[str, object], etag: str) -> ServedRules:
    return parse_rules(etag, yaml.safe_dump(doc), "yaml", "test")


def with_low_below(threshold: float) -> dict[str, object]:
    return {"rules": [EMPTY_RULE, {"name": "low", "type": "confidence", "below": threshold}]}


def collector_on(clock: ManualClock, tmp_path: Path) -> Collector:
    sampler = served(RULES_A, "a").config.build(clock)
    return Collector(rules=sampler, spool_dir=tmp_path / "spool")


def test_an_offered_version_applies_at_the_next_frame_and_keeps_untouched_limits(tmp_path: Path) -> None:
    clock = ManualClock(1_000.0)
    with collector_on(clock, tmp_path) as collector:
        assert [collector.observe(IMAGE, NONE).keep for _ in range(2)] == [True, True]  # 2 of 4 per minute
        assert collector.observe(IMAGE, LOW).rule == "low"
        collector.offer_rules(served(with_low_below(0.1), "b"))
        assert collector.status()["rules_etag"] is None  # offered, not yet in force
        assert collector.observe(IMAGE, LOW).keep is False  # below 0.1 now: the swap came first
        assert collector.status()["rules_etag"] == "b"
        assert [collector.observe(IMAGE, NONE).keep for _ in range(5)] == [True, True, False, False, False]
        assert collector.sampler.remaining()["empty"] == {"4 per 1 minute": 0}


def test_a_swap_moves_a_rules_frames_to_its_new_destination(tmp_path: Path) -> None:
    """Routing follows the version in force: frames kept after the swap go where it says."""
    clock = ManualClock(1_000.0)
    routed = {"rules": [EMPTY_RULE, {"name": "low", "type": "confidence", "below": 0.5, "project": "night"}]}
    with collector_on(clock, tmp_path) as collector:
        collector.observe(IMAGE, LOW, name="before")
        collector.offer_rules(served(routed, "routed"))
        collector.observe(IMAGE, LOW, name="after")
        collector.flush()
        projects = {entry.meta.get("name"): entry.meta.get("project") for entry in collector.spool.due()}
    assert projects == {"before": None, "after": "night"}


def test_a_version_that_cannot_be_built_is_refused_with_value_error(tmp_path: Path) -> None:
    with collector_on(ManualClock(0.0), tmp_path) as collector:
        # A configuration this device cannot build (as a newer server's might be): unvalidated here,
        # its random rule's probability is out of range, which only the rule's constructor checks.
        rule = RandomConfig.model_construct(type="random", name="r", tags=[], limits=None, probability=1.5)
        bad = ServedRules("bad", "", "yaml", SamplingConfig.model_construct(rules=[rule], seed=None))
        with pytest.raises(ValueError, match="probability"):
            collector.offer_rules(bad)
        assert collector.observe(IMAGE, LOW).rule == "low"
        assert collector.status()["rules_etag"] is None


def test_offers_from_another_thread_never_break_a_frame(tmp_path: Path) -> None:
    """The rules thread offers versions as fast as it can while frames are decided; every frame sees
    one whole stack, and the last offer is in force after the next frame."""
    clock = ManualClock(1_000.0)
    versions = [
        served(with_low_below(t), f"v{i}") for i, t in enumerate(np.linspace(0.05, 0.95, 40).tolist())
    ]
    with collector_on(clock, tmp_path) as collector:
        done = threading.Event()

        def offer_all() -> None:
            for version in versions:
                collector.offer_rules(version)
            done.set()

        thread = threading.Thread(target=offer_all)
        thread.start()
        seen = 0
        while not done.is_set() or seen < 5:
            clock.advance(0.01)
            decision = collector.observe(IMAGE, LOW)
            assert decision.rule in {"low", None}
            seen += 1
        thread.join()
        collector.observe(IMAGE, LOW)
        assert collector.status()["rules_etag"] == "v39"
        assert collector.status()["seen"] == seen + 1


def test_server_rules_and_local_rules_exclude_each_other(tmp_path: Path) -> None:
    sync = RulesSync(f"http://127.0.0.1:{free_port()}", "key", "acme/cams", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="not both"):
        Collector(rules=Sampler([]), rules_sync=sync, spool_dir=tmp_path / "spool")
    sync.stop()


# ----------------------------------------------------------------------------- validation
def test_served_rules_are_validated_like_a_rules_file() -> None:
    with pytest.raises(ConfigError, match=r"rules\[1\] \(low\)\.below"):
        served(with_low_below(1.5), "x")
    with pytest.raises(ConfigError, match="invalid YAML"):
        parse_rules("x", "rules: [", "yaml", "test")
    with pytest.raises(ConfigError, match="storage"):
        parse_rules("x", yaml.safe_dump({**RULES_A, "storage": "nonsense://nowhere"}), "yaml", "test")
    with pytest.raises(ConfigError, match="mapping"):
        parse_rules("x", "- a\n- b\n", "yaml", "test")
    assert parse_rules("x", json.dumps(RULES_A), "json", "test").config.rules[1].name == "low"


# ----------------------------------------------------------------------------- the cache
def unreachable(tmp_path: Path, project: str = "acme/cams") -> RulesSync:
    """A sync whose server is a free port nobody listens on."""
    return RulesSync(f"http://127.0.0.1:{free_port()}", "key", project, cache_dir=tmp_path, timeout=2)


def test_an_offline_boot_starts_from_the_cached_version(tmp_path: Path) -> None:
    first = unreachable(tmp_path)
    first.save_cache(served(RULES_A, "etag-a"))
    first.stop()
    assert json.loads((tmp_path / CACHE_NAME).read_text())["etag"] == "etag-a"
    assert not list(tmp_path.glob("*.tmp"))
    sync = unreachable(tmp_path)
    boot = sync.boot()
    assert boot.source == "cache" and boot.rules is not None and boot.rules.etag == "etag-a"
    assert boot.note and "unreachable" in boot.note
    with Collector(rules_sync=sync, spool_dir=tmp_path / "spool") as collector:
        assert collector.status()["rules_etag"] == "etag-a"
        assert collector.observe(IMAGE, NONE).rule == "empty"
        assert collector.status()["rules_sync"]["errors"] == 1


def test_no_server_and_no_cache_is_a_clear_error_naming_rules(tmp_path: Path) -> None:
    sync = unreachable(tmp_path)
    with pytest.raises(RulesUnavailable, match=r"no cached copy .*--rules FILE"):
        sync.boot()
    sync.stop()


def test_another_projects_cache_or_a_broken_one_is_not_used(tmp_path: Path) -> None:
    other = unreachable(tmp_path, "acme/other")
    other.save_cache(served(RULES_A, "theirs"))
    other.stop()
    mine = unreachable(tmp_path)
    assert mine.read_cache() is None
    (tmp_path / CACHE_NAME).write_text("{not json")
    assert mine.read_cache() is None
    (tmp_path / CACHE_NAME).write_text(
        json.dumps({"project": "acme/cams", "etag": "e", "format": "yaml", "text": "rules: []"})
    )
    assert mine.read_cache() is None  # no longer valid (an empty stack): never sampled by
    mine.stop()


def test_the_interval_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="interval"):
        RulesSync("http://127.0.0.1:1", "k", "a/b", cache_dir=tmp_path, interval=0)
