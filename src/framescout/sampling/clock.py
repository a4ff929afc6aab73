"""Clocks: wall time by default, a hand-driven clock for tests and for replaying recorded frames."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Any zero-argument callable returning seconds (like ``time.time``)."""

system_clock: Clock = time.time


class ManualClock:
    """A clock that only moves when told to: deterministic tests and log replays."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self.now += seconds
        return self.now

    def set(self, now: float) -> None:
        """Jump to an absolute time, which must not be earlier than the current one."""
        if now < self.now:
            raise ValueError(f"a clock cannot go backwards (from {self.now} to {now})")
        self.now = float(now)
