"""The background uploader: sends spooled frames oldest first, deletes each only once the server
confirmed it, and never gives a frame up because of what the server said.

Each attempt ends one of four ways (see `transport`): delivered (the frame leaves the spool),
transient (the queue waits a full-jitter backoff, then tries again), configuration error (the whole
uploader pauses and probes again, capped at ``pause_max`` s, until the server accepts uploads), or
frame rejected (the frame moves to the spool's quarantine with the server's reason). A routed
frame whose destination project the server does not have holds only that destination (`holds`).
Any other
exception, from the transport, the spool or anywhere, is logged, counted and retried after a
backoff: the thread does not die."""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

from framescout.collector.counters import Counters
from framescout.collector.holds import Holds
from framescout.collector.spool import Entry, Spool
from framescout.collector.transport import (
    ConfigurationError,
    FrameRejected,
    ServerAnswer,
    TransientError,
    Transport,
)
from framescout.retry import Backoff

log = logging.getLogger("framescout.collector")


class Uploader:
    """A daemon thread draining a spool through a transport.

    ``state`` is ``idle``, ``uploading``, ``retrying`` (transient failure, backing off), ``waiting``
    (nothing due yet), ``paused`` (configuration error; ``paused_reason`` has the server's answer) or
    ``error`` (an unexpected exception; ``errors`` counts them). ``pauses`` counts pause episodes."""

    def __init__(
        self,
        spool: Spool,
        transport: Transport,
        counters: Counters,
        *,
        base_delay: float = 0.5,
        max_delay: float = 60.0,
        pause_base: float = 1.0,
        pause_max: float = 30.0,
        seed: int | None = None,
    ) -> None:
        self.spool, self.transport, self.counters = spool, transport, counters
        self.base_delay, self.max_delay = base_delay, max_delay
        self.pause_base, self.pause_max = pause_base, pause_max
        self._random = random.Random(seed)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._failures = 0
        self._pauses = 0
        self.state = "idle"
        self.last_error: str | None = None
        self.paused_reason: ServerAnswer | None = None
        self.errors = 0
        self.pauses = 0
        self.holds = Holds(Backoff(pause_base, pause_max, floor=0.5), self._random)
        """Routed destinations the server answered ``404 project_not_found`` for."""
        self._thread = threading.Thread(target=self._run, name="framescout-uploader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """New work arrived: try now instead of at the end of the current wait (not while paused)."""
        self._wake.set()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def backoff(self) -> float:
        """After a transient failure: full jitter, uniform in [0, min(max, base * 2**failures)]."""
        return Backoff(self.base_delay, self.max_delay).delay(self._failures, self._random)

    def pause_delay(self) -> float:
        """Between probes while paused: doubling up to ``pause_max``, jittered in [ceiling/2, ceiling]
        so a misconfigured fleet neither hammers the server nor probes in lockstep."""
        return Backoff(self.pause_base, self.pause_max, floor=0.5).delay(self._pauses, self._random)

    def status(self) -> dict[str, Any]:
        """What `Collector.status()` reports under ``"uploader"``."""
        reason = self.paused_reason
        return {
            "state": self.state,
            "last_error": self.last_error,
            "paused_reason": reason.as_dict() if reason and self.state == "paused" else None,
            "errors": self.errors,
            "pauses": self.pauses,
            "held": self.holds.status(),
        }

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._cycle()
            except Exception as exc:  # the thread must outlive anything: log, count, back off, go on
                if self._stop.is_set():  # closing under a request still in flight: nothing to report
                    return
                self.errors += 1
                self._failures += 1
                self.state, self.last_error = "error", f"{type(exc).__name__}: {exc}"
                log.exception("uploader error (%d so far); retrying", self.errors)
                self._stop.wait(self.backoff())

    def _cycle(self) -> None:
        """One pass over the entries that are due; waits (on stop or wake) when nothing is due."""
        entries = self.spool.due(limit=16)
        if not entries:
            self.state = "idle" if self._failures == 0 else "waiting"
            wait = self.spool.next_due_in()
            self._wake.wait(timeout=1.0 if wait is None else min(max(wait, 0.01), 1.0))
            self._wake.clear()
            return
        for entry in entries:
            if self._stop.is_set():
                return
            pause = self._send(entry)
            if pause:  # the server is away or refuses this device: pause the whole queue
                self._stop.wait(pause)
                return

    def _send(self, entry: Entry) -> float:
        """Try one entry; return how long to pause the queue (0 after a delivery or a quarantine)."""
        try:
            jpeg = self.spool.read(entry)
        except FileNotFoundError as exc:  # nothing left to keep: the file is gone
            self.counters.drop(entry.rule, "spool_file_unreadable")
            log.warning("dropping spooled frame %s: %s", entry.id, exc)
            self.spool.done(entry.id)
            return 0.0
        project = entry.record.project
        held_for = self.holds.wait(project)
        if held_for:  # its destination is held: not sent before the next probe
            self.spool.retry_later(entry.id, held_for)
            return 0.0
        if self.state != "paused":
            self.state = "uploading"
        try:
            duplicate = self.transport.send(jpeg, entry.record)
        except TransientError as exc:
            self._failures += 1
            self.state, self.last_error = "retrying", str(exc)
            self.counters.add(entry.rule, "retried")
            delay = self.backoff()
            self.spool.retry_later(entry.id, delay)
            return delay
        except ConfigurationError as exc:
            if project is not None and exc.answer.code == "project_not_found":
                if not self.holds.held(project):
                    log.warning("frames for project %s are held in the spool: %s", project, exc)
                self.spool.retry_later(entry.id, self.holds.hold(project, exc.answer))
                self.last_error = str(exc)
                return 0.0
            if self.state != "paused":
                self.pauses += 1
                log.warning("upload paused, the spool is kept: %s", exc)
            self.state, self.last_error, self.paused_reason = "paused", str(exc), exc.answer
            delay = self.pause_delay()
            self._pauses += 1
            return delay
        except FrameRejected as exc:
            answer = exc.answer
            self.spool.quarantine(entry.id, answer.status, answer.code, answer.message)
            self.counters.add(entry.rule, "quarantined")
            self.last_error = str(exc)
            log.warning("server refused frame %s (%s), quarantined: %s", entry.id, entry.rule, exc)
            self._resumed()
            return 0.0
        self.counters.add(entry.rule, "duplicates" if duplicate else "uploaded")
        self.spool.done(entry.id)
        if self.holds.release(project):
            log.warning("project %s accepts uploads again: its held frames go out", project)
        self._resumed()
        self.last_error = None
        return 0.0

    def _resumed(self) -> None:
        """The server answered this device properly: leave any pause and reset the backoffs."""
        if self.state == "paused":
            log.warning("upload resumed: the server accepts uploads again")
        self.state = "uploading"
        self._failures = self._pauses = 0
        self.paused_reason = None

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
