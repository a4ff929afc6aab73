"""The sampler's clock: a frame's own timestamp (its time in a recorded video) drives the rules *and*
the in-process limits; a `limits` storage of the library's own (Redis, its MemoryStorage) keeps
counting wall time."""

from __future__ import annotations

import time

from limits.storage import MemoryStorage

from framescout import Predictions
from framescout.sampling import ManualClock, RandomSample, Sampler, TimeQuota

EMPTY = Predictions.empty()
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a multiple of every window length used here


def test_frame_timestamps_drive_per_minute_limits_and_the_quota_together() -> None:
    """Three minutes of frames at 1 fps, decided in a fraction of a wall-clock second: a 2/minute
    limit keeps 2 per minute of frame time and the quota 1 per minute, as if they had been live."""
    sampler = Sampler(
        [
            TimeQuota(1, 60, name="quota"),
            RandomSample(1.0, name="sampled", limits={"per_minute": 2}),
        ],
        seed=7,
    )
    kept: dict[str, list[float]] = {"quota": [], "sampled": []}
    for second in range(180):
        decision = sampler.decide(EMPTY, timestamp=START + second)
        assert decision.timestamp == START + second
        if decision.keep:
            assert decision.rule is not None
            kept[decision.rule].append(decision.timestamp - START)
    assert [int(t // 60) for t in kept["quota"]] == [0, 1, 2]  # one in each minute of frame time
    # A moving window: credit comes back exactly 60 s after each kept frame.
    assert kept["sampled"] == [0, 1, 60, 61, 120, 121]
    # Credit is read at the last frame's time, not at the wall clock's.
    assert sampler.remaining()["sampled"] == {"2 per 1 minute": 0}


def test_the_same_timestamps_give_the_same_frames_however_slowly_they_are_decided() -> None:
    def run(pause: float) -> list[int]:
        sampler = Sampler([RandomSample(1.0, name="r", limits="1/second")], seed=1)
        out = []
        for i in range(12):
            if sampler.decide(EMPTY, timestamp=START + i * 0.25).keep:
                out.append(i)
            time.sleep(pause)
        return out

    assert run(0.0) == run(0.02) == [0, 4, 8]  # one per second of frame time (0.25 s apart)


def test_a_shared_storage_counts_wall_time_even_when_the_sampler_has_a_replay_clock() -> None:
    """`MemoryStorage` is the `limits` library's own storage, which stamps entries with time.time() as
    Redis does: the limiter must compare its cached reset time with the wall clock, not the replay
    clock (else a rule that ran out of credit once would stay blocked until the replay reaches the
    present day)."""
    clock = ManualClock(0.0)
    rule = RandomSample(1.0, name="r", limits="1/second")
    sampler = Sampler([rule], clock=clock, storage=MemoryStorage())
    assert sampler.decide(EMPTY).keep
    assert not sampler.decide(EMPTY).keep  # same wall-clock second: out of credit
    time.sleep(1.2)
    assert sampler.decide(EMPTY).keep  # a wall-clock second later, credit is back


def test_memory_storage_written_out_is_the_default_in_process_storage_on_the_replay_clock() -> None:
    """`storage: memory://` (the rules file's default written out) counts the sampler's clock."""
    clock = ManualClock(START)
    sampler = Sampler([RandomSample(1.0, name="r", limits="1/minute")], clock=clock, storage="memory://")
    assert sampler.decide(EMPTY).keep and not sampler.decide(EMPTY).keep
    clock.advance(60)
    assert sampler.decide(EMPTY).keep  # a minute of replay time later, not of wall time
