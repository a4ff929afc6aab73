"""Heartbeats: the collector tells the server it is alive and what it did, every 30 s, off the caller's
thread.

A `Heartbeats` daemon thread sends one heartbeat when it starts, one every ``interval`` seconds, and a
final one when it is stopped (after the collector closed, so the final one carries the run's final
counters). A heartbeat is built from ``Collector.status()`` by `heartbeat_body`. Failures are logged,
counted and backed off (`framescout.retry.Backoff`, doubling from the interval up to ten of them);
nothing they do reaches inference or the uploads, and no failure stops the thread."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from framescout.client import Client, RetryPolicy
from framescout.retry import Backoff

log = logging.getLogger("framescout.collector")

HEARTBEAT_SECONDS = 30.0
"""The default interval (``framescout collect --heartbeat-interval``)."""
MAX_RULES = 100
MAX_REASONS = 50
"""What the server takes per heartbeat (`server.device_schemas`); more rules are left out, not refused."""
_RULE_COUNTS = ("kept", "uploaded", "duplicates", "retried", "quarantined")

Send = Callable[[dict[str, Any]], None]
Status = Callable[[], Mapping[str, Any]]


def rule_counts(counts: Mapping[str, Any]) -> dict[str, Any]:
    """One rule's counts in `Collector.status()` as a heartbeat's: ``queued`` is ``spooled``, and
    ``dropped`` the total with its ``dropped_reasons``."""
    reasons = dict(sorted(counts["dropped"].items())[:MAX_REASONS])
    return {
        **{name: int(counts[name]) for name in _RULE_COUNTS},
        "spooled": int(counts["queued"]),
        "dropped": int(sum(counts["dropped"].values())),
        "dropped_reasons": reasons,
    }


def heartbeat_body(
    status: Mapping[str, Any],
    *,
    labels: Mapping[str, str],
    model_version: str | None,
    software_version: str,
    started_at: datetime,
    final: bool = False,
) -> dict[str, Any]:
    """The JSON a heartbeat posts, from ``status`` (`Collector.status()`): the run's totals and the same
    per rule, the spool's backlog, the versions (``status["model_version"]`` and ``status["rules_etag"]``
    win when the collector reports them: the model or rules it runs now)."""
    per_rule = {name: rule_counts(counts) for name, counts in list(status["rules"].items())[:MAX_RULES]}
    totals = {
        name: sum(counts[name] for counts in per_rule.values())
        for name in ("kept", "uploaded", "duplicates", "spooled", "dropped", "quarantined")
    }
    spool = status["spool"]
    return {
        "labels": dict(labels),
        "model_version": status.get("model_version") or model_version,
        "rules_etag": status.get("rules_etag"),
        "software_version": software_version,
        "counters": {
            "seen": int(status["seen"]),
            "nothing_detected": int(status.get("nothing_detected", 0)),
            **totals,
            "per_rule": per_rule,
        },
        "spool": {"entries": int(spool["entries"]), "bytes": int(spool["bytes"])},
        "started_at": started_at.astimezone(UTC).isoformat(),
        "final": final,
    }


class Heartbeats:
    """A daemon thread calling ``send(body(final))`` at start, every ``interval`` s, and once more
    (``final=True``) on `stop`. ``body`` builds the heartbeat; ``send`` raises on any failure."""

    def __init__(
        self,
        send: Send,
        body: Callable[[bool], dict[str, Any]],
        *,
        interval: float = HEARTBEAT_SECONDS,
        seed: int | None = None,
        close: Callable[[], None] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"the heartbeat interval must be positive; got {interval}")
        self._send, self._body, self.interval, self._close = send, body, interval, close
        self.backoff = Backoff(interval, interval * 10, floor=0.5)
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.sent = 0
        self.failures = 0
        """Failed heartbeats in a row (0 after a success)."""
        self.errors = 0
        self.last_error: str | None = None
        self.last_sent: datetime | None = None
        self._thread = threading.Thread(target=self._run, name="framescout-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def status(self) -> dict[str, Any]:
        """``sent``, ``errors`` (all failures), ``failing`` (in a row), ``last_error``, ``last_sent``."""
        with self._lock:
            last = self.last_sent.isoformat() if self.last_sent else None
            return {
                "sent": self.sent,
                "errors": self.errors,
                "failing": self.failures,
                "last_error": self.last_error,
                "last_sent": last,
            }

    def beat(self, *, final: bool = False) -> bool:
        """Send one heartbeat now; ``False`` (logged, counted) if it failed. Never raises."""
        try:
            self._send(self._body(final))
        except Exception as exc:  # a heartbeat failing must never stop the collector
            with self._lock:
                self.failures += 1
                self.errors += 1
                first = self.last_error is None
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
            (log.warning if first else log.debug)("heartbeat failed (will retry): %s", exc)
            return False
        with self._lock:
            if self.last_error is not None:
                log.info("heartbeats reach the server again")
            self.sent += 1
            self.failures = 0
            self.last_error = None
            self.last_sent = datetime.now(UTC)
        return True

    def wait(self) -> float:
        """Seconds until the next heartbeat: the interval, or the backoff after failures."""
        with self._lock:
            failures = self.failures
        return self.interval if failures == 0 else self.backoff.delay(failures - 1, self._random)

    def _run(self) -> None:
        self.beat()
        while not self._stop.wait(self.wait()):
            self.beat()

    def halt(self, timeout: float = 10.0) -> None:
        """End the thread (waiting up to ``timeout`` s for a heartbeat in flight); no more are sent."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def stop(self, *, final: bool = True, timeout: float = 10.0) -> None:
        """End the thread, then send the ``final`` heartbeat (once, never retried) from the caller."""
        self.halt(timeout)
        if final:
            self.beat(final=True)
        if self._close is not None:
            self._close()


def server_heartbeats(
    server: str,
    api_key: str,
    project: str,
    device_id: str,
    body: Callable[[bool], dict[str, Any]],
    *,
    interval: float = HEARTBEAT_SECONDS,
    timeout: float = 5.0,
) -> Heartbeats:
    """`Heartbeats` posting to ``server``'s ``project`` as ``device_id`` through an SDK client of its
    own (one attempt per heartbeat: the thread's backoff decides when to try again)."""
    client = Client(server, api_key, timeout=timeout, retry=RetryPolicy(attempts=1))
    return Heartbeats(
        lambda heartbeat: client.send_heartbeat(project, device_id, heartbeat),
        body,
        interval=interval,
        close=client.close,
    )
