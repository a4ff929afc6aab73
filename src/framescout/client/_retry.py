"""Retry policy: exponential backoff with full jitter on connection errors, 5xx and 429."""

from __future__ import annotations

import random
from dataclasses import dataclass

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in total (1 = no retry); waits grow ``base * 2**n`` up to ``cap`` s, fully jittered."""

    attempts: int = 5
    base: float = 0.25
    cap: float = 8.0

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based); ``Retry-After`` wins when larger."""
        ceiling = min(self.cap, self.base * (2**attempt))
        wait = (rng or random).uniform(0, ceiling)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap * 4))
        return wait


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
