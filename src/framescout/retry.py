"""The one retry policy of the SDK and the collector: which answers mean "try again later", and how
long to wait (exponential backoff with jitter), so the two sides never disagree on either."""

from __future__ import annotations

import random
from dataclasses import dataclass

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
"""Answers that mean "not now": request timeout, too early, too many requests, and the 5xx a proxy
or an overloaded server gives. The SDK retries exactly these (and connection errors); the collector's
`classify` counts them transient (with every other 5xx, since it never gives a frame up)."""


@dataclass(frozen=True)
class Backoff:
    """Waits that double from ``base`` up to ``cap`` seconds, drawn uniformly from
    [``floor`` * ceiling, ceiling]: ``floor=0`` is full jitter (retries of many clients spread out),
    ``floor=0.5`` keeps at least half the wait (probes of a paused fleet neither hammer nor align)."""

    base: float
    cap: float
    floor: float = 0.0

    def ceiling(self, failures: int) -> float:
        """The longest wait after ``failures`` failures in a row (0-based, capped)."""
        return min(self.cap, self.base * 2.0 ** min(failures, 30))

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        ceiling = self.ceiling(failures)
        return (rng or random).uniform(ceiling * self.floor, ceiling)


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
        wait = Backoff(self.base, self.cap).delay(attempt, rng)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap * 4))
        return wait


def parse_retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (dates and garbage are ignored: the backoff decides)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
