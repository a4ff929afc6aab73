"""Limits shared by a fleet through Redis, that never stall or break a frame's decision.

A `SharedBackend` counts limit groups in the `limits` library's Redis storage, built at first use,
with short socket timeouts and no client-side retries, so a check costs at most ``socket_timeout``.
When Redis cannot be reached (refused, timed out, any Redis error), the backend logs one warning,
counts the outage, and answers from an in-process stand-in (this process's own limits, on wall time,
starting empty) until a background probe finds the server again (``PING`` every
``retry_interval`` seconds); decisions never touch Redis while it is away and never raise. Back
online, the shared counters are used again (the fleet's entries from before are still there).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from limits.storage import Storage, storage_from_string

from framescout.sampling.clock import system_clock
from framescout.sampling.limiter import ClockedMemoryStorage, LimitBackend, LimitGroup
from framescout.sampling.storage_uri import redact, require_client

log = logging.getLogger("framescout.sampling")

SOCKET_TIMEOUT = 0.5
"""Seconds one Redis connect or reply may take before the check is answered locally."""
RETRY_INTERVAL = 5.0
"""Seconds between the probes that look for an unreachable Redis."""

_T = TypeVar("_T")


class SharedBackend:
    """One Redis URI's limit groups, with this process as the stand-in while Redis is away."""

    def __init__(
        self, uri: str, *, socket_timeout: float | None = None, retry_interval: float | None = None
    ) -> None:
        require_client(uri)
        self.uri = uri
        self.socket_timeout = SOCKET_TIMEOUT if socket_timeout is None else socket_timeout
        self.retry_interval = RETRY_INTERVAL if retry_interval is None else retry_interval
        self._remote: LimitBackend | None = None
        self._local = LimitBackend(ClockedMemoryStorage(clock=system_clock), system_clock)
        self._reachable = threading.Event()
        self._reachable.set()  # until a call says otherwise: the first frame tries it
        self._stop = threading.Event()
        weakref.finalize(self, self._stop.set)  # a forgotten backend's probe ends with it
        self._lock = threading.Lock()
        self.outages = 0
        self.local_decisions = 0
        self.last_error: str | None = None

    # ------------------------------------------------------------------ the Backend interface
    def exhausted(self, group: LimitGroup) -> str | None:
        return self._run(lambda backend: backend.exhausted(group))

    def take(self, group: LimitGroup) -> str | None:
        return self._run(lambda backend: backend.take(group))

    def remaining(self, group: LimitGroup) -> dict[str, int]:
        return self._run(lambda backend: backend.remaining(group))

    def forget(self, groups: Iterable[LimitGroup]) -> None:
        groups = list(groups)
        self._local.forget(groups)
        self._run(lambda backend: backend.forget(groups))

    def decided(self) -> None:
        if not self._reachable.is_set():
            self.local_decisions += 1

    def status(self) -> dict[str, Any]:
        return {
            "storage": redact(self.uri),
            "state": "shared" if self._reachable.is_set() else "local",
            "outages": self.outages,
            "local_decisions": self.local_decisions,
            "last_error": self.last_error,
        }

    def close(self) -> None:
        """Stop looking for the server (the probe thread ends within a moment)."""
        self._stop.set()

    # ------------------------------------------------------------------ reaching Redis
    def _run(self, operation: Callable[[LimitBackend], _T]) -> _T:
        if self._reachable.is_set():
            try:
                return operation(self._connected())
            except Exception as exc:  # any failure of the storage: decisions must go on regardless
                self._lost(exc)
        return operation(self._local)

    def _connected(self) -> LimitBackend:
        if self._remote is None:
            self._remote = LimitBackend(self._open(), system_clock)
        return self._remote

    def _open(self) -> Storage:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        storage = storage_from_string(
            self.uri,
            socket_timeout=self.socket_timeout,
            socket_connect_timeout=self.socket_timeout,
            retry=Retry(NoBackoff(), 0),  # type: ignore[arg-type]  # one try: the stand-in is the retry
        )
        assert isinstance(storage, Storage)  # redis:// is the synchronous storage
        return storage

    def _lost(self, exc: Exception) -> None:
        with self._lock:
            if not self._reachable.is_set():
                return
            self._reachable.clear()
            self.outages += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            self._local.unblock()
        log.warning(
            "shared limits: %s unreachable (%s); counting limits in this process until it answers "
            "(checking every %g s)",
            redact(self.uri),
            self.last_error,
            self.retry_interval,
        )
        probe = threading.Thread(
            target=_probe, args=(weakref.ref(self), self._stop), name="framescout-limits-probe", daemon=True
        )
        probe.start()

    def _back(self) -> bool:
        """One probe: True (and shared again) when the server answers."""
        try:
            if not self._connected().storage.check():
                return False
        except Exception as exc:  # cannot even build the client: keep looking
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        if self._remote is not None:
            self._remote.unblock()
        self._reachable.set()
        log.warning("shared limits: %s answers again; limits are shared again", redact(self.uri))
        return True


def _probe(ref: weakref.ref[SharedBackend], stop: threading.Event) -> None:
    """Look for the server every ``retry_interval`` seconds until it answers, or the backend is gone."""
    while True:
        backend = ref()
        if backend is None:
            return
        interval = backend.retry_interval
        del backend
        if stop.wait(interval):
            return
        backend = ref()
        if backend is None or backend._back():
            return
        del backend
