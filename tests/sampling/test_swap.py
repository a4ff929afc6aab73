"""`Sampler.swap`: a new rule stack between two frames keeps the state and the limit credit of every
rule whose name and settings did not change, and only those."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from framescout import Predictions
from framescout.sampling import ManualClock, Sampler, parse_config
from framescout.sampling.config import SamplingConfig
from sampling.conftest import make_predictions

EMPTY = Predictions.empty()
LOW = make_predictions([("car", 0.2)])


def sampler_for(rules: list[dict[str, Any]], clock: ManualClock, **top: Any) -> Sampler:
    config: SamplingConfig = parse_config({"rules": rules, **top})
    return config.build(clock)


def keep_count(sampler: Sampler, clock: ManualClock, frames: int, predictions: Predictions = LOW) -> int:
    kept = 0
    for _ in range(frames):
        clock.advance(0.1)
        kept += sampler.decide(predictions).keep
    return kept


EVERYTHING = {"name": "everything", "type": "random", "probability": 1.0, "limits": {"per_minute": 10}}
LOW_CONF = {"name": "low", "type": "confidence", "below": 0.5}


def test_a_half_used_limit_stays_half_used_across_a_swap_that_changes_another_rule() -> None:
    clock = ManualClock(1_000.0)
    sampler = sampler_for([EVERYTHING, LOW_CONF], clock)
    assert keep_count(sampler, clock, 5, EMPTY) == 5  # 5 of the 10 per minute used
    swap = sampler.swap(sampler_for([EVERYTHING, {**LOW_CONF, "below": 0.1}], clock))
    assert (swap.kept, swap.changed, swap.added, swap.removed) == (("everything",), ("low",), (), ())
    # Within the same minute only the 5 credits left remain (a fresh limiter would give 10).
    assert keep_count(sampler, clock, 50, EMPTY) == 5
    assert sampler.remaining()["everything"] == {"10 per 1 minute": 0}


def test_a_changed_rule_starts_with_full_credit() -> None:
    clock = ManualClock(1_000.0)
    sampler = sampler_for([EVERYTHING], clock)
    assert keep_count(sampler, clock, 30, EMPTY) == 10
    swap = sampler.swap(sampler_for([{**EVERYTHING, "tags": ["new"]}], clock))
    assert swap.changed == ("everything",)
    decisions = [sampler.decide(EMPTY) for _ in range(30)]
    assert sum(d.keep for d in decisions) == 10
    assert decisions[0].tags == ("new",)


def test_removed_rules_are_forgotten_and_added_ones_start_fresh() -> None:
    clock = ManualClock(1_000.0)
    other = {**EVERYTHING, "name": "other"}
    sampler = sampler_for([EVERYTHING, other], clock)
    assert keep_count(sampler, clock, 20, EMPTY) == 20  # 10 each
    swap = sampler.swap(sampler_for([other], clock))
    assert (swap.kept, swap.removed) == (("other",), ("everything",))
    assert keep_count(sampler, clock, 5, EMPTY) == 0  # other is still out of credit
    swap = sampler.swap(sampler_for([other, EVERYTHING], clock))
    assert swap.added == ("everything",)  # came back: a new rule, full credit
    assert keep_count(sampler, clock, 30, EMPTY) == 10
    assert [r.name for r in sampler.rules] == ["other", "everything"]


def test_global_limits_keep_their_credit_unless_they_change() -> None:
    clock = ManualClock(1_000.0)
    rules = [{"name": "all", "type": "random", "probability": 1.0}]
    sampler = sampler_for(rules, clock, limits={"per_minute": 3})
    assert keep_count(sampler, clock, 10, EMPTY) == 3
    swap = sampler.swap(sampler_for([*rules, LOW_CONF], clock, limits={"per_minute": 3}))
    assert swap.global_limits_kept
    assert keep_count(sampler, clock, 10, EMPTY) == 0  # still blocked: the same minute
    swap = sampler.swap(sampler_for(rules, clock, limits={"per_minute": 4}))
    assert not swap.global_limits_kept
    assert keep_count(sampler, clock, 10, EMPTY) == 4


def test_a_new_seed_resets_the_rules_that_draw_from_it_only() -> None:
    clock = ManualClock(1_000.0)
    rules = [EVERYTHING, {**LOW_CONF, "limits": {"per_minute": 2}}]
    sampler = sampler_for(rules, clock, seed=1)
    assert keep_count(sampler, clock, 12) == 12  # 10 by everything, then 2 by low
    swap = sampler.swap(sampler_for(rules, clock, seed=2))
    assert (swap.kept, swap.changed) == (("low",), ("everything",))
    assert sampler.seed == 2
    assert keep_count(sampler, clock, 30) == 10  # everything fresh, low still used up


def test_quota_and_counter_state_survive_an_unrelated_change() -> None:
    """The rule objects themselves carry over: a quota's window, an every-nth count."""
    clock = ManualClock(0.0)
    nth = {"name": "nth", "type": "every_nth", "class": "car", "n": 3}
    sampler = sampler_for([nth, LOW_CONF], clock)
    assert [sampler.decide(LOW).rule for _ in range(2)] == ["low", "low"]
    sampler.swap(sampler_for([nth, {**LOW_CONF, "below": 0.3}], clock))
    assert sampler.decide(LOW).rule == "nth"  # the third car, counted across the swap


def test_the_same_fingerprint_for_the_same_settings_in_any_process() -> None:
    """Fingerprints sort sets, so the same settings give the same fingerprint whatever the
    interpreter's hash seed (a device comparing versions never sees a change that is not one)."""
    code = (
        "from framescout.sampling import parse_config\n"
        "c = parse_config({'rules': [{'type': 'classes_present', 'any_of': ['a', 'b', 'c', 'd', 'e']}]})\n"
        "print(c.build().rules[0].fingerprint())"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(outputs) == 1


# ----------------------------------------------------------------------------- the property
unchanged_rules = st.sampled_from(
    [
        {"name": "keep", "type": "random", "probability": 0.6, "limits": {"per_minute": 4}},
        {"name": "keep", "type": "quota", "count": 3, "every": "1m"},
        {"name": "keep", "type": "every_nth", "class": "car", "n": 2, "limits": {"per_minute": 5}},
    ]
)


@settings(max_examples=60, deadline=None)
@given(
    unchanged=unchanged_rules,
    gaps=st.lists(st.floats(0.05, 20, allow_nan=False), min_size=2, max_size=120),
    swap_at=st.integers(0, 119),
    new_threshold=st.floats(0.05, 0.95),
    seed=st.integers(0, 1000),
)
def test_an_unchanged_first_rule_keeps_exactly_what_it_would_have_kept_without_the_swap(
    unchanged: dict[str, Any], gaps: list[float], swap_at: int, new_threshold: float, seed: int
) -> None:
    """Swapping the rules after it (changed, added or removed) never alters the first rule's
    decisions: its random draws, windows and limit credit carry over exactly."""
    limited_other = {**LOW_CONF, "limits": {"per_minute": 2}}

    def run(swap: bool) -> list[bool]:
        clock = ManualClock(10_000.0)
        sampler = sampler_for([unchanged, limited_other], clock, seed=seed)
        out = []
        for i, gap in enumerate(gaps):
            if swap and i == min(swap_at, len(gaps) - 1):
                sampler.swap(sampler_for([unchanged, {**LOW_CONF, "below": new_threshold}], clock, seed=seed))
            clock.advance(gap)
            out.append(sampler.decide(LOW).rule == "keep")
        return out

    assert run(swap=True) == run(swap=False)
