"""Rate limits (per minute / hour / day) on kept frames, enforced with the `limits` library.

Limits use the moving-window strategy, so no window of the stated length ever holds more kept
frames than allowed. In-process state lives in :class:`ClockedMemoryStorage`, a `limits` storage
backend that reads the sampler's clock (so replays, recorded videos and tests are exact); any other
`limits` storage URI (for example ``redis://host:6379``) shares limits between processes on wall time.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError as LimitsConfigurationError
from limits.storage import MovingWindowSupport, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from framescout.sampling.clock import Clock, system_clock


class ClockedMemoryStorage(Storage, MovingWindowSupport):
    """A `limits` storage kept in memory whose notion of "now" is an injectable clock."""

    STORAGE_SCHEME = ["framescout-memory"]  # noqa: RUF012 - the `limits` base class declares it so

    def __init__(self, uri: str | None = None, clock: Clock = system_clock) -> None:
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        super().__init__(uri)

    @property
    def clock(self) -> Clock:
        """The clock this storage stamps and expires entries by."""
        return self._clock

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        with self._lock:
            now = self._clock()
            events = self._trim(key, now - expiry)
            if len(events) + amount > limit:
                return False
            events.extend([now] * amount)
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        with self._lock:
            now = self._clock()
            events = self._trim(key, now - expiry)
            return (events[0] if events else now), len(events)

    def _trim(self, key: str, horizon: float) -> deque[float]:
        """Drop entries at or before ``horizon``: an entry stamped t counts during [t, t + expiry)."""
        events = self._events.setdefault(key, deque())
        while events and events[0] <= horizon:
            events.popleft()
        return events

    # The fixed-window half of the Storage interface, for completeness of the backend.
    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        with self._lock:
            events = self._trim(key, self._clock() - expiry)
            events.extend([self._clock()] * amount)
            return len(events)

    def get(self, key: str) -> int:
        return len(self._events.get(key, ()))

    def get_expiry(self, key: str) -> float:
        events = self._events.get(key)
        return events[-1] if events else self._clock()

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            count = len(self._events)
            self._events.clear()
            return count

    def clear(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)


LimitSpec = str | dict[str, int] | Sequence[RateLimitItem] | None

_PERIOD_WORDS = {"per_second": "second", "per_minute": "minute", "per_hour": "hour", "per_day": "day"}


def parse_limits(spec: LimitSpec) -> tuple[RateLimitItem, ...]:
    """Parse ``"10/minute; 200/hour"``, ``{"per_minute": 10}`` or ready-made items into limit items."""
    if spec is None:
        return ()
    if isinstance(spec, str):
        try:
            items = parse_many(spec)
        except ValueError:
            raise ValueError(
                f"cannot parse rate limit {spec!r}; write it like '10/minute; 200/hour; 1000/day'"
            ) from None
        return tuple(items)
    if isinstance(spec, dict):
        parts = []
        for key, amount in spec.items():
            if key not in _PERIOD_WORDS:
                raise ValueError(f"unknown limit period {key!r}; use one of {sorted(_PERIOD_WORDS)}")
            parts.append(f"{int(amount)}/{_PERIOD_WORDS[key]}")
        return parse_limits("; ".join(parts)) if parts else ()
    return tuple(spec)


@dataclass(frozen=True)
class LimitGroup:
    """The limits that guard one rule (or the whole sampler), under a unique storage key."""

    key: str
    items: tuple[RateLimitItem, ...]


class Limiter:
    """Checks and consumes credit across several limit groups all-or-nothing.

    ``clock`` is the time of the in-process storage (the sampler's clock: video time for a recording,
    replay time in tests). Any other storage (Redis, ``memory://``) stamps entries with the wall clock,
    so the limiter then runs on the wall clock too, whatever ``clock`` says."""

    def __init__(self, storage: Storage | str | None = None, clock: Clock = system_clock) -> None:
        if storage is None:
            storage = ClockedMemoryStorage(clock=clock)
        elif isinstance(storage, str):
            try:
                loaded = storage_from_string(storage)
            except LimitsConfigurationError as exc:  # unknown scheme, or its client library missing
                raise ValueError(f"storage {storage!r} cannot be used: {exc}") from None
            if not isinstance(loaded, Storage):
                raise ValueError(f"{storage!r} is an asynchronous storage; use a synchronous one")
            storage = loaded
        self.storage: Storage = storage
        self._strategy = MovingWindowRateLimiter(storage)
        # Cached reset times come from the storage, so they are compared with the storage's own time.
        self._clock = storage.clock if isinstance(storage, ClockedMemoryStorage) else system_clock
        self._lock = threading.Lock()
        self._blocked_until: dict[str, tuple[float, str]] = {}

    def acquire(self, groups: Iterable[LimitGroup]) -> str | None:
        """Take one credit from every group, or none at all; return the exhausted limit's label, if any."""
        groups = [g for g in groups if g.items]
        if not groups:
            return None
        with self._lock:
            now = self._clock()
            for group in groups:
                blocked = self._blocked_until.get(group.key)
                if blocked is not None and now < blocked[0]:
                    return blocked[1]
                for item in group.items:
                    if not self._strategy.test(item, group.key):
                        return self._block(group, item)
            for group in groups:
                for item in group.items:
                    self._strategy.hit(item, group.key)
        return None

    def _block(self, group: LimitGroup, item: RateLimitItem) -> str:
        """Remember until when ``group`` is out of credit: entries only ever expire, so no credit can
        come back before the window's reset time (true for shared storages too), and checks in between
        are answered without touching the storage."""
        label = f"{group.key}: {item}"
        reset = self._strategy.get_window_stats(item, group.key).reset_time
        self._blocked_until[group.key] = (reset, label)
        return label

    def forget(self, group: LimitGroup) -> None:
        """Drop what this limiter remembers of ``group`` (a rule that was removed or changed): its
        "out of credit until" mark, and its entries when the storage is this process's own. Entries in
        a shared storage are left alone: other devices may still count on them, and they expire."""
        with self._lock:
            self._blocked_until.pop(group.key, None)
            if isinstance(self.storage, ClockedMemoryStorage):
                for item in group.items:
                    self._strategy.clear(item, group.key)

    def reset(self) -> None:
        """Forget all consumed credit."""
        with self._lock:
            self.storage.reset()
            self._blocked_until.clear()

    def remaining(self, group: LimitGroup) -> dict[str, int]:
        """Credit left in each of a group's limits, keyed by the limit's text (for status displays)."""
        return {str(item): self._strategy.get_window_stats(item, group.key).remaining for item in group.items}
