"""A tiny thread-safe TTL cache for hot lookups (API key → workspace, path → project) on every request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """Entries expire ``ttl`` seconds after they were loaded; at most ``size`` entries are kept."""

    def __init__(self, ttl: float, size: int = 1024) -> None:
        self.ttl = ttl
        self.size = size
        self._data: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()
        self._epoch = 0  # moves on every clear(): a load that began before it is not kept

    def get(self, key: K, load: Callable[[], V]) -> V:
        """The cached value, or ``load()`` (cached only when it returns without raising, and only if
        the cache was not cleared meanwhile — that value may predate what the clear was for)."""
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            epoch = self._epoch
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        with self._lock:
            if epoch != self._epoch:
                return value
            if len(self._data) >= self.size:
                self._data.clear()
            self._data[key] = (now + self.ttl, value)
        return value

    def discard(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)
            self._epoch += 1

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._epoch += 1
