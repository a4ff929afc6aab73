"""The thresholds of ``from: evaluation`` schedules: the server's evaluation of the version running here.

    client = Client(server, api_key, retry=RetryPolicy(attempts=1))
    sync = ThresholdsSync(client, "acme/parking", cache_dir="framescout-spool")
    sync.boot("2")                 # one request before the first frame (the cache if it fails)
    rule.use_book(sync.book)       # EvaluatedSchedule rules read the summaries from the book
    sync.start(); sync.track("3")  # a version switch asks at once, in the background

The collector asks ``GET /api/v1/projects/{ws}/{project}/evaluation?model_version=V`` for the version
it runs (`framescout.client.Client.evaluation`), at boot, whenever the running version changes
(``collect --model server`` follows the deployment) and every ``interval`` seconds, in a daemon thread
so inference never waits on the network. Each answer is reduced to its `Summary` (the recommended
threshold, the per-class ones, the frame count) and written atomically to
``<cache_dir>/thresholds-cache.json``, one entry per version: a device that boots or switches versions
while the server is unreachable holds each version it has run before to its last measured threshold,
and a version it never fetched to the rule's ``fallback`` (the ``source`` says which). A version the
server does not know (404 ``model_version_not_found``) falls back too.

Why the device asks rather than the server writing thresholds into the rules it serves: the
evaluation is computed on demand, so resolving it in ``GET …/rules`` would run an evaluation of
every version on each device's 30-second rules poll and change the rules' ETag with every review;
here each device asks for its own version only, at its own slower interval, and the rules stay the
text that was pushed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from framescout.atomic import write_file_atomically
from framescout.client import ApiError, Client, ServerUnavailable
from framescout.collector.transport import Outcome, classify
from framescout.retry import Backoff
from framescout.sampling.evaluated import EvaluationBook, Summary, summarize

log = logging.getLogger("framescout.collector")

CACHE_NAME = "thresholds-cache.json"
"""The last evaluation summary per model version, next to the spool's ``spool.db``."""
UNKNOWN_VERSION_CODE = "model_version_not_found"


class ThresholdsSync:
    """Keeps one collector's `EvaluationBook` in step with the server's evaluation of its version."""

    def __init__(
        self, client: Client, project: str, *, cache_dir: str | Path, interval: float = 300.0
    ) -> None:
        """Ask through ``client`` (its own: `stop` closes it; one attempt per request, as this loop
        owns the retries) for the evaluations of ``project`` (``workspace/project``)."""
        if interval <= 0:
            raise ValueError(f"the thresholds interval must be a positive number of seconds; got {interval}")
        self._client, self.server, self.project = client, client.url, project.strip("/")
        self.interval, self.cache_path = interval, Path(cache_dir) / CACHE_NAME
        self.backoff = Backoff(base=min(interval, 30.0), cap=interval, floor=0.5)
        self.book = EvaluationBook(self.read_cache())
        self._wanted: str | None = None
        self._fetched: dict[str, float] = {}  # version -> when this run last had the server's answer
        self._lock = threading.Lock()
        self._status: dict[str, Any] = {"checks": 0, "errors": 0, "last_error": None}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ driving it
    def boot(self, model_version: str | None) -> None:
        """Ask once for ``model_version`` before the first frame; on failure the cache (or the
        fallback) holds until the background thread gets an answer."""
        self._wanted = model_version
        if model_version is not None:
            self.refresh(model_version)

    def track(self, model_version: str | None) -> None:
        """The collector now runs ``model_version``: ask for it soon if this run has not yet."""
        self._wanted = model_version
        if model_version is not None and model_version not in self._fetched:
            self._wake.set()

    def start(self) -> None:
        """Check in a daemon thread: at once after a version change, else every ``interval``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="framescout-thresholds", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop checking (an ongoing request finishes first, within its timeout)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._client.close()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            version = self._wanted
            due = self._fetched.get(version or "", float("-inf")) + self.interval
            wait = self.backoff.delay(failures - 1) if failures else max(0.0, due - time.monotonic())
            self._wake.wait(wait if version is not None else None)
            self._wake.clear()
            version = self._wanted
            if self._stop.is_set() or version is None:
                continue
            if version in self._fetched and time.monotonic() < self._fetched[version] + self.interval:
                continue  # woken for a version already answered in this interval
            failures = 0 if self.refresh(version) else failures + 1

    # ------------------------------------------------------------------ one request
    def refresh(self, model_version: str) -> bool:
        """Ask the server for ``model_version``'s evaluation and keep its summary; ``False`` when the
        server could not answer (unreachable, 5xx, refused: the previous summary stays)."""
        try:
            answer = self._client.evaluation(self.project, model_version)
            summary = summarize(answer, model_version)
        except ApiError as exc:
            if exc.status == 404 and exc.code == UNKNOWN_VERSION_CODE:
                self.book.forget(model_version)
                self._answered(model_version)
                return True
            kind = "unavailable" if classify(exc.status) is Outcome.TRANSIENT else "refused"
            return self._failed(model_version, f"the server {kind}: {exc.status} {exc.code}: {exc.message}")
        except ServerUnavailable as exc:
            return self._failed(model_version, str(exc))
        except ValueError as exc:
            return self._failed(model_version, f"not an evaluation: {exc}")
        self.book.put(summary)
        self._answered(model_version)
        return True

    def _answered(self, model_version: str) -> None:
        self._fetched[model_version] = time.monotonic()
        with self._lock:
            self._status["checks"] += 1
            self._status["last_error"] = None
        self.save_cache()

    def _failed(self, model_version: str, message: str) -> bool:
        with self._lock:
            self._status["errors"] += 1
            self._status["last_error"] = message
        log.warning("cannot get the evaluation of version %s of %s: %s", model_version, self.project, message)
        return False

    # ------------------------------------------------------------------ the cache
    def read_cache(self) -> dict[str, Summary]:
        """The cached summaries of this project (none when missing, another project's or unreadable)."""
        try:
            data = json.loads(self.cache_path.read_text(encoding="utf-8"))
            if data.get("project") != self.project:
                log.info("ignoring %s: it holds the thresholds of %s", self.cache_path, data.get("project"))
                return {}
            summaries = [summarize(entry) for entry in data["versions"].values()]
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring the cached thresholds in %s: %s", self.cache_path, exc)
            return {}
        return {s.model_version: s for s in summaries}

    def save_cache(self) -> None:
        """Write every known summary (atomically: temp file + rename)."""
        versions = {v: s.to_json() for v, s in self.book.versions().items()}
        data = {"project": self.project, "server": self.server, "saved_at": time.time(), "versions": versions}
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            write_file_atomically(self.cache_path, json.dumps(data, indent=1).encode())
        except OSError as exc:  # the thresholds still apply; only an offline boot would miss them
            log.warning("cannot cache the thresholds in %s: %s", self.cache_path, exc)

    def status(self) -> dict[str, Any]:
        """Check counts, ``last_error``, the version tracked and the versions with a summary."""
        with self._lock:
            return {
                **self._status,
                "model_version": self._wanted,
                "versions": sorted(self.book.versions()),
            }
