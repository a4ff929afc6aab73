"""Rate limits (per minute / hour / day) on kept frames, enforced with the `limits` library.

Limits use the moving-window strategy, so no window of the stated length ever holds more kept
frames than allowed. In-process state lives in :class:`ClockedMemoryStorage`, a `limits` storage
backend that reads the sampler's clock (so replays, recorded videos and tests are exact); a group
whose ``storage`` is a Redis URI is counted in that server, shared between processes and devices on
wall time (`shared_limits.SharedBackend`, which falls back to this process while Redis is away).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from limits import RateLimitItem, parse_many
from limits.storage import MovingWindowSupport, Storage
from limits.strategies import MovingWindowRateLimiter

from framescout.sampling.clock import Clock, system_clock
from framescout.sampling.storage_uri import check_storage_uri, is_shared


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


def limits_text(items: Iterable[RateLimitItem]) -> str:
    """``10/minute,200/hour``: a group's limit settings as they go into its storage key."""
    out = []
    for item in items:
        every = f"{item.multiples}" if item.multiples != 1 else ""
        out.append(f"{item.amount}/{every}{item.GRANULARITY.name}")
    return ",".join(out)


def group_key(namespace: str | None, kind: str, name: str, items: Iterable[RateLimitItem]) -> str:
    """The storage key of one limit group: ``framescout:acme/parking:rule:hard-cases:10/minute``.

    The namespace (the collector's ``workspace/project``; ``-`` without one) keeps two projects from
    sharing a counter in one Redis; the rule name keeps two rules apart; the limit settings make a
    changed limit start a counter of its own rather than inherit the old one's entries."""
    return f"framescout:{namespace or '-'}:{kind}:{name}:{limits_text(items)}"


@dataclass(frozen=True)
class LimitGroup:
    """The limits that guard one rule (or the whole sampler), under a unique storage key.

    ``storage`` is the URI of a shared storage the group is counted in (``redis://…``); ``None``
    (or ``memory://``) counts it in the limiter's own storage."""

    key: str
    items: tuple[RateLimitItem, ...]
    storage: str | None = None


class Backend(Protocol):
    """Where a limiter counts some of its groups: one storage (`LimitBackend`) or a shared one with a
    stand-in (`shared_limits.SharedBackend`)."""

    def exhausted(self, group: LimitGroup) -> str | None:
        """The label of a limit of ``group`` with no credit left, without consuming any."""

    def take(self, group: LimitGroup) -> str | None:
        """Consume one credit of every limit of ``group``; the label of one another process emptied
        since `exhausted` said yes (the credit of the limits before it stays consumed)."""

    def remaining(self, group: LimitGroup) -> dict[str, int]:
        """Credit left in each limit of ``group``, keyed by the limit's text."""

    def forget(self, groups: Iterable[LimitGroup]) -> None:
        """Drop the consumed credit of ``groups``."""

    def decided(self) -> None:
        """One frame's limits were checked here (shared backends count those they answered locally)."""

    def status(self) -> dict[str, Any] | None:
        """What a status display shows about this backend (``None``: nothing worth showing)."""


class LimitBackend:
    """One `limits` storage under the moving-window strategy, and the groups it knows are empty."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage = storage
        self.clock = clock
        """The time the storage stamps entries with (its reset times are compared with it)."""
        self._strategy = MovingWindowRateLimiter(storage)
        self._blocked_until: dict[str, tuple[float, str]] = {}

    def exhausted(self, group: LimitGroup) -> str | None:
        blocked = self._blocked_until.get(group.key)
        if blocked is not None and self.clock() < blocked[0]:
            return blocked[1]
        for item in group.items:
            if not self._strategy.test(item, group.key):
                return self._block(group, item)
        return None

    def take(self, group: LimitGroup) -> str | None:
        for item in group.items:
            if not self._strategy.hit(item, group.key):
                return self._block(group, item)
        return None

    def _block(self, group: LimitGroup, item: RateLimitItem) -> str:
        """Remember until when ``group`` is out of credit: entries only ever expire, so no credit can
        come back before the window's reset time (true for shared storages too), and checks in between
        are answered without touching the storage."""
        label = f"{group.key}: {item}"
        reset = self._strategy.get_window_stats(item, group.key).reset_time
        self._blocked_until[group.key] = (reset, label)
        return label

    def remaining(self, group: LimitGroup) -> dict[str, int]:
        return {str(item): self._strategy.get_window_stats(item, group.key).remaining for item in group.items}

    def forget(self, groups: Iterable[LimitGroup]) -> None:
        for group in groups:
            for item in group.items:
                self.storage.clear(item.key_for(group.key))
        self._blocked_until.clear()

    def unblock(self) -> None:
        """Forget which groups were out of credit (their reset times may no longer hold)."""
        self._blocked_until.clear()

    def decided(self) -> None:
        pass

    def status(self) -> dict[str, Any] | None:
        return None


class Limiter:
    """Checks and consumes credit across several limit groups all-or-nothing.

    ``storage`` counts the groups that name no storage of their own: by default (``None`` or
    ``memory://``) a `ClockedMemoryStorage` on ``clock``, the sampler's clock (video time for a
    recording, replay time in tests); a Redis URI shares them (on the wall clock). A ready `limits`
    `Storage` other than ours stamps entries with the wall clock, so the limiter then runs on the wall
    clock too, whatever ``clock`` says. Groups that name a Redis URI are counted there."""

    def __init__(self, storage: Storage | str | None = None, clock: Clock = system_clock) -> None:
        self._default_uri: str | None = None
        if isinstance(storage, str):
            uri = check_storage_uri(storage)
            self._default_uri = uri if is_shared(uri) else None
            storage = None
        if storage is None:
            storage = ClockedMemoryStorage(clock=clock)
        # Cached reset times come from the storage, so they are compared with the storage's own time.
        own_clock = storage.clock if isinstance(storage, ClockedMemoryStorage) else system_clock
        self._local = LimitBackend(storage, own_clock)
        self._shared: dict[str, Backend] = {}
        self._groups: dict[str, LimitGroup] = {}
        self._lock = threading.Lock()

    def backend(self, group: LimitGroup) -> Backend:
        """Where ``group`` is counted; a shared storage is built at its first use (no connection
        before a frame needs it)."""
        uri = self._default_uri if group.storage is None else group.storage
        if uri is None or not is_shared(uri):  # memory:// on a rule: this process, whatever the default
            return self._local
        backend = self._shared.get(uri)
        if backend is None:
            from framescout.sampling.shared_limits import SharedBackend  # it imports this module

            backend = self._shared[uri] = SharedBackend(uri)
        return backend

    def acquire(self, groups: Iterable[LimitGroup]) -> str | None:
        """Take one credit from every group, or none at all; return the exhausted limit's label, if any.

        With a shared storage, another process may take the last credit between the check and the
        hit: the frame is then refused, and credit already taken from the groups before stays taken
        (the fleet never keeps more than a limit allows; at worst one frame's credit is wasted)."""
        groups = [g for g in groups if g.items]
        if not groups:
            return None
        with self._lock:
            pairs = [(self.backend(g), g) for g in groups]
            try:
                return self._acquire(pairs)
            finally:
                for backend in {id(b): b for b, _ in pairs}.values():
                    backend.decided()

    def _acquire(self, pairs: list[tuple[Backend, LimitGroup]]) -> str | None:
        for backend, group in pairs:
            self._groups.setdefault(group.key, group)
            label = backend.exhausted(group)
            if label is not None:
                return label
        for backend, group in pairs:
            label = backend.take(group)
            if label is not None:
                return label
        return None

    def reset(self) -> None:
        """Forget the credit consumed by the groups this limiter has counted (in a shared storage,
        those groups' keys only: never another project's)."""
        with self._lock:
            groups = list(self._groups.values())
            for backend in (self._local, *self._shared.values()):
                backend.forget(g for g in groups if self.backend(g) is backend)
            if isinstance(self._local.storage, ClockedMemoryStorage):
                self._local.storage.reset()

    def forget_local(self, groups: Iterable[LimitGroup]) -> None:
        """Drop the credit ``groups`` consumed where this process alone counts them (the rules a
        `Sampler.swap` changed or removed). Groups in a shared storage keep their count: it is the
        fleet's, and the other devices may still run the previous rules."""
        with self._lock:
            local = [
                g for g in groups if not is_shared(self._default_uri if g.storage is None else g.storage)
            ]
            self._local.forget(local)
            for group in local:
                self._groups.pop(group.key, None)

    def remaining(self, group: LimitGroup) -> dict[str, int]:
        """Credit left in each of a group's limits, keyed by the limit's text (for status displays)."""
        return self.backend(group).remaining(group)

    def status(self) -> list[dict[str, Any]]:
        """One entry per shared storage in use: its URI (no password), state, outages and the checks
        answered in this process while it was unreachable."""
        return [s for s in (b.status() for b in self._shared.values()) if s is not None]
