"""Random sampling: a probability per frame, or a time quota ("3 frames every 15 minutes")."""

from __future__ import annotations

import math
from typing import Any

from framescout.sampling.frame import Frame
from framescout.sampling.rules.base import Rule


class RandomSample(Rule):
    """Keep each frame with a fixed probability (e.g. 0.005 for "0.5% of traffic")."""

    kind = "random"
    uses_seed = True

    def __init__(self, probability: float, *, seed: int | None = None, **common: Any) -> None:
        super().__init__(**common)
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1]; got {probability}")
        self.probability = probability
        self.reset(seed)

    def reset(self, seed: int | None) -> None:
        self._random = self.rng_for(seed).random

    def check(self, frame: Frame) -> str | None:
        if self._random() < self.probability:
            return f"random sample (p={self.probability:g})"
        return None


class TimeQuota(Rule):
    """Keep ``count`` frames in every window of ``every`` seconds, spread over the window.

    Each window (aligned to multiples of ``every`` on the frame clock) is cut into ``count`` equal
    slots with one due time drawn at random in the first half of each slot. A frame is kept while
    fewer frames have been kept in the window than due times have passed, so the quota is spread
    out rather than spent on the first frames, unused credit carries to later slots of the same
    window, and exactly ``count`` frames are kept per window whenever frames keep arriving.
    """

    kind = "quota"
    uses_seed = True

    def __init__(self, count: int, every: float, *, seed: int | None = None, **common: Any) -> None:
        super().__init__(**common)
        if count < 1:
            raise ValueError(f"count must be at least 1; got {count}")
        if every <= 0:
            raise ValueError(f"every must be a positive duration; got {every}")
        self.count = count
        self.every = float(every)
        self._seed = seed
        self._window = -1
        self._due: list[float] = []
        self._kept = 0

    def reset(self, seed: int | None) -> None:
        self._seed = seed
        self._window = -1
        self._due = []
        self._kept = 0

    def _enter_window(self, window: int) -> None:
        rng = self.rng_for(None if self._seed is None else self._seed * 1_000_003 + window)
        start, slot = window * self.every, self.every / self.count
        self._window, self._kept = window, 0
        # Due times fall in the first half of each slot, so the slot's second half always leaves
        # room for a frame to arrive before the window closes.
        self._due = [start + (i + 0.5 * rng.random()) * slot for i in range(self.count)]

    def check(self, frame: Frame) -> str | None:
        window = math.floor(frame.timestamp / self.every)
        if window != self._window:
            first = self._window == -1
            self._enter_window(window)
            if first:  # started mid-window: slots that passed before the first frame are not owed
                self._kept = sum(due < frame.timestamp for due in self._due)
        if self._kept >= self.count or frame.timestamp < self._due[self._kept]:
            return None
        return f"time quota ({self._kept + 1} of {self.count} every {_fmt_duration(self.every)})"

    def on_kept(self, frame: Frame) -> None:
        self._kept += 1


def _fmt_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
