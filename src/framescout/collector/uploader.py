"""The background uploader: sends spooled frames oldest first, deletes each only once the server
confirmed it, and backs off exponentially with full jitter while the server is away."""

from __future__ import annotations

import logging
import random
import threading

from framescout.collector.counters import Counters
from framescout.collector.spool import Entry, Spool
from framescout.collector.transport import PermanentError, TransientError, Transport

log = logging.getLogger("framescout.collector")


class Uploader:
    """A daemon thread draining a spool through a transport."""

    def __init__(
        self,
        spool: Spool,
        transport: Transport,
        counters: Counters,
        *,
        base_delay: float = 0.5,
        max_delay: float = 60.0,
        seed: int | None = None,
    ) -> None:
        self.spool, self.transport, self.counters = spool, transport, counters
        self.base_delay, self.max_delay = base_delay, max_delay
        self._random = random.Random(seed)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._failures = 0
        self.state = "idle"
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="framescout-uploader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """New work arrived: try now instead of at the end of the current wait."""
        self._wake.set()

    def backoff(self) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**failures)]."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** min(self._failures, 30))
        return self._random.uniform(0, ceiling)

    def _run(self) -> None:
        while not self._stop.is_set():
            entries = self.spool.due(limit=16)
            if not entries:
                self.state = "idle" if self._failures == 0 else "waiting"
                wait = self.spool.next_due_in()
                self._wake.wait(timeout=1.0 if wait is None else min(max(wait, 0.01), 1.0))
                self._wake.clear()
                continue
            for entry in entries:
                if self._stop.is_set():
                    return
                pause = self._send(entry)
                if pause:  # the server is away: pause the whole queue, not just this frame
                    self._stop.wait(pause)
                    break

    def _send(self, entry: Entry) -> float:
        """Try one entry; return how long to pause the queue (0 unless the failure was transient)."""
        try:
            jpeg = self.spool.read(entry)
        except OSError as exc:
            self.counters.drop(entry.rule, "spool_file_unreadable")
            log.warning("dropping spooled frame %s: %s", entry.id, exc)
            self.spool.done(entry.id)
            return 0.0
        self.state = "uploading"
        try:
            duplicate = self.transport.send(jpeg, entry.meta)
        except TransientError as exc:
            self._failures += 1
            self.state, self.last_error = "retrying", str(exc)
            self.counters.add(entry.rule, "retried")
            delay = self.backoff()
            self.spool.retry_later(entry.id, delay)
            return delay
        except PermanentError as exc:
            self.last_error = str(exc)
            self.counters.drop(entry.rule, "rejected_by_server")
            log.warning("server refused frame %s (%s): %s", entry.id, entry.rule, exc)
            self.spool.done(entry.id)
            return 0.0
        self._failures = 0
        self.last_error = None
        self.counters.add(entry.rule, "duplicates" if duplicate else "uploaded")
        self.spool.done(entry.id)
        return 0.0

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
