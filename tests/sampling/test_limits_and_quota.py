"""Properties of the stateful parts: rate limits are never exceeded, the time quota keeps exactly N
per window when frames are plentiful and spreads them over the window."""

from __future__ import annotations

import bisect
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from framescout import Predictions
from framescout.sampling import ManualClock, RandomSample, Sampler, TimeQuota
from framescout.sampling.frame import Frame

EMPTY = Predictions.empty()
PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


def max_in_any_window(times: list[float], length: float) -> int:
    """The largest number of events inside any half-open window [t, t + length)."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + length) - i for i, t in enumerate(times)), default=0)


limit_specs = st.dictionaries(st.sampled_from(list(PERIODS)), st.integers(1, 12), min_size=1)


@settings(max_examples=150, deadline=None)
@given(
    gaps=st.lists(st.floats(0, 90, allow_nan=False), min_size=1, max_size=300),
    rule_limits=st.lists(limit_specs, min_size=2, max_size=2),
    global_limits=limit_specs,
    probability=st.floats(0.2, 1.0),
    seed=st.integers(0, 10_000),
)
def test_limits_are_never_exceeded(
    gaps: list[float],
    rule_limits: list[dict[str, int]],
    global_limits: dict[str, int],
    probability: float,
    seed: int,
) -> None:
    def spec(limits: dict[str, int]) -> str:
        return "; ".join(f"{n}/{period}" for period, n in limits.items())

    clock = ManualClock(1_000_000.0)
    rules = [
        RandomSample(probability, name="a", limits=spec(rule_limits[0])),
        RandomSample(probability, name="b", limits=spec(rule_limits[1])),
    ]
    sampler = Sampler(rules, limits=spec(global_limits), seed=seed, clock=clock)
    kept: dict[str, list[float]] = {"a": [], "b": []}
    for gap in gaps:
        clock.advance(gap)
        decision = sampler.decide(EMPTY)
        if decision.keep:
            assert decision.rule is not None
            kept[decision.rule].append(clock.now)
    everything = kept["a"] + kept["b"]
    for period, n in global_limits.items():
        assert max_in_any_window(everything, PERIODS[period]) <= n
    for name, limits in zip("ab", rule_limits, strict=True):
        for period, n in limits.items():
            assert max_in_any_window(kept[name], PERIODS[period]) <= n


def run_quota(count: int, every: float, frame_gap: float, windows: int, seed: int = 3) -> list[float]:
    rule = TimeQuota(count, every, seed=seed)
    kept = []
    t = 0.0
    while t < every * windows:
        frame = Frame(EMPTY, t)
        if rule.check(frame):
            rule.on_kept(frame)
            kept.append(t)
        t += frame_gap
    return kept


@settings(max_examples=80, deadline=None)
@given(
    count=st.integers(1, 10),
    every=st.sampled_from([60.0, 900.0, 3600.0]),
    seed=st.integers(0, 1000),
    windows=st.integers(1, 4),
)
def test_quota_keeps_exactly_n_per_window_when_frames_are_plentiful(
    count: int, every: float, seed: int, windows: int
) -> None:
    kept = run_quota(count, every, frame_gap=every / (count * 50), windows=windows, seed=seed)
    per_window = Counter(int(t // every) for t in kept)
    assert [per_window[w] for w in range(windows)] == [count] * windows


def test_quota_spreads_frames_over_the_window() -> None:
    kept = run_quota(3, 900.0, frame_gap=1.0, windows=1)  # "3 images every 15 minutes", 1 frame/s
    assert len(kept) == 3
    slots = [int(t // 300) for t in kept]
    assert slots == [0, 1, 2]  # one in each third of the window, not the first three frames


@settings(max_examples=80, deadline=None)
@given(times=st.lists(st.floats(0, 10_000, allow_nan=False), max_size=200), count=st.integers(1, 5))
def test_quota_never_exceeds_n_per_window_for_any_arrivals(times: list[float], count: int) -> None:
    rule = TimeQuota(count, 600.0, seed=1)
    kept = []
    for t in sorted(times):
        frame = Frame(EMPTY, t)
        if rule.check(frame):
            rule.on_kept(frame)
            kept.append(t)
    assert max(Counter(int(t // 600) for t in kept).values(), default=0) <= count


def test_quota_credit_carries_over_within_a_window() -> None:
    rule = TimeQuota(3, 900.0, seed=5)
    kept = []
    for t in (10.0, 899.0, 899.5, 899.9, 899.95):  # a burst at the end of a quiet window
        frame = Frame(EMPTY, t)
        if rule.check(frame):
            rule.on_kept(frame)
            kept.append(t)
    assert kept[-3:] == [899.0, 899.5, 899.9]


def test_quota_started_mid_window_does_not_burst() -> None:
    rule = TimeQuota(3, 900.0, seed=2)
    kept = []
    for t in [850.0 + k for k in range(350)]:  # the collector starts near the end of a window
        frame = Frame(EMPTY, t)
        if rule.check(frame):
            rule.on_kept(frame)
            kept.append(t)
    assert len([t for t in kept if t < 900]) == 0  # the window's due times all passed before start
    assert len(kept) >= 1  # the next window's first slot is honoured
