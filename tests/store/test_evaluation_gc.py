"""`store.evaluation_data.paused_gc`: overlapping pauses (two evaluations at once) resume the cyclic
garbage collector once, when the last ends, and never turn on a collector that was off."""

from __future__ import annotations

import gc

from framescout.store.evaluation_data import paused_gc


def test_overlapping_pauses_resume_the_collector_when_the_last_ends() -> None:
    assert gc.isenabled()
    first, second = paused_gc(), paused_gc()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second evaluation is still building its boxes
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
