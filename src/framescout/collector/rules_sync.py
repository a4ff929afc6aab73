"""Follow the project's server-held rules: fetch them at start and every ``interval`` seconds.

    sync = RulesSync(server, api_key, "acme/parking", cache_dir="framescout-spool")
    with Collector(server=..., api_key=..., project="acme/parking", rules_sync=sync) as collector: ...

`RulesSync.boot` fetches the rules once before the first frame (``GET /api/v1/projects/{ws}/{project}
/rules``, with ``If-None-Match`` naming the cached version); a background thread then asks again every
``interval`` seconds (backing off with `framescout.retry.Backoff` while the server fails), so inference
never waits on the network. A new version is validated as ``framescout rules check`` validates a file
and handed to the collector (`Collector.offer_rules`), which swaps it in between two frames; a version
that does not validate is logged and ignored, the previous one stays in force.

Each good version is written atomically to ``<cache_dir>/rules-cache.json`` (the text, its ETag and
its project), so a device that boots while the server is unreachable samples with the last version it
had. No server and no cache is an error (`RulesUnavailable`), as is a server that refuses the key or
the project (`RulesRefused`); a project with no rules yet samples by the built-in stack until some are
pushed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from framescout.atomic import write_file_atomically
from framescout.client import ApiError, Client, RetryPolicy, ServerUnavailable, UnexpectedResponse
from framescout.collector.transport import Outcome, ServerAnswer, classify
from framescout.retry import Backoff
from framescout.sampling import ConfigError, SamplingConfig
from framescout.sampling.config import ConfigFormat, config_from_text

log = logging.getLogger("framescout.collector")

CACHE_NAME = "rules-cache.json"
"""The last good server version, next to the spool's ``spool.db``."""
NO_RULES_CODE = "rules_not_found"
"""The 404 code of a project that has no server-held rules yet (not a configuration error)."""
NO_ROUTE_CODE = "not_found"
"""The 404 code of a path the server does not have: a server older than server-held rules (the key
and the project were checked by `check_access` already), sampled like a project without rules."""

Format = ConfigFormat


class RulesError(Exception):
    """The collector cannot start with the server's rules; the message says what to do."""


class RulesRefused(RulesError):
    """The server refused the key or the project (401, 403, a 404 that is not "no rules yet")."""


class RulesUnavailable(RulesError):
    """Neither the server nor the cache could give a usable version."""


@dataclass(frozen=True)
class ServedRules:
    """One version of a project's rules: its ETag (without quotes), its text and the validated config."""

    etag: str
    text: str
    format: Format
    config: SamplingConfig


@dataclass(frozen=True)
class Boot:
    """What the collector starts with: ``rules`` (``None``: the project has none, use the built-in
    stack), where they came from, and a line worth telling the user (or ``None``)."""

    rules: ServedRules | None
    source: Literal["server", "cache"]
    note: str | None = None


class _Unchanged:
    """A 304: the version named in ``If-None-Match`` is still current."""


@dataclass(frozen=True)
class _NoRules:
    """A 404 ``rules_not_found`` (the project has no rules yet) or ``not_found`` (nor does the server)."""

    server_keeps_none: bool = False


class _Transient(Exception):
    """Unreachable, slow, 5xx, a redirect, an answer that is not a framescout one: ask again later."""


class _Invalid(Exception):
    """The server's current version does not validate here (e.g. a rule type newer than this device)."""

    def __init__(self, etag: str, message: str) -> None:
        super().__init__(message)
        self.etag = etag


def parse_rules(etag: str, text: str, fmt: Format, source: str) -> ServedRules:
    """Validate a rules text exactly as ``framescout rules check`` validates a file, and build it once
    (a rule whose settings only its constructor refuses is caught here, not mid-run)."""
    config = config_from_text(text, fmt, source)
    try:
        config.build()
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return ServedRules(etag, text, fmt, config)


class RulesSync:
    """Keeps one collector's rules in step with its project's server-held rules."""

    def __init__(
        self,
        server: str,
        api_key: str,
        project: str,
        *,
        cache_dir: str | Path,
        interval: float = 30.0,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"the rules interval must be a positive number of seconds; got {interval}")
        self.server, self.project, self.interval = server.rstrip("/"), project.strip("/"), interval
        self.cache_path = Path(cache_dir) / CACHE_NAME
        self.backoff = Backoff(base=interval, cap=max(interval, min(interval * 8, 600.0)), floor=0.5)
        if self.project.count("/") != 1 or "" in self.project.split("/"):
            raise ValueError(f"project must be 'workspace/project'; got {project!r}")
        self._where = f"{self.server}/api/v1/projects/{self.project}/rules"
        self._client = Client(
            self.server, api_key, timeout=timeout, retry=RetryPolicy(attempts=1), transport=transport
        )
        self.booted: Boot | None = None
        self.current: ServedRules | None = None
        self._lock = threading.Lock()
        self._status: dict[str, Any] = {"checks": 0, "errors": 0, "last_check": None, "last_error": None}
        self._rejected: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ start
    def boot(self) -> Boot:
        """The version to start with: the server's (asking whether the cached one is still current),
        else the cached one when the server cannot answer. Raises `RulesRefused` or `RulesUnavailable`."""
        cached = self.read_cache()
        try:
            answer = self._fetch(cached.etag if cached else None)
        except _Transient as exc:
            self._failed(str(exc))
            if cached is None:
                raise RulesUnavailable(
                    f"cannot get the rules of {self.project}: {exc}, and there is no cached copy "
                    f"({self.cache_path}); start it once with the server up, or pass --rules FILE"
                ) from None
            boot = Boot(
                cached,
                "cache",
                f"the server is unreachable ({exc}); sampling with the cached "
                f"rules {cached.etag[:12]} until it answers",
            )
        except _Invalid as exc:
            self._reject(exc)
            if cached is None:
                raise RulesUnavailable(f"{exc}; pass --rules FILE to sample by a local file") from None
            boot = Boot(cached, "cache", f"{exc}; sampling with the cached rules {cached.etag[:12]}")
        else:
            self._checked()
            if isinstance(answer, _NoRules):
                why = (
                    f"{self.server} keeps no rules (a server older than this collector?)"
                    if answer.server_keeps_none
                    else f"{self.project} has no rules on the server yet"
                )
                boot = Boot(None, "server", f"{why}; sampling with the built-in rules until some are pushed")
            elif isinstance(answer, _Unchanged):
                assert cached is not None
                boot = Boot(cached, "server")
            else:
                self.save_cache(answer)
                boot = Boot(answer, "server")
        self.booted, self.current = boot, boot.rules
        return boot

    def start(self, offer: Callable[[ServedRules], None]) -> None:
        """Check every ``interval`` seconds in a daemon thread; hand each new valid version to
        ``offer`` (which may refuse it by raising `ValueError`: it is then ignored like an invalid one)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, args=(offer,), name="framescout-rules", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop checking (an ongoing request finishes first, within its timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._client.close()

    # ------------------------------------------------------------------ the loop
    def _run(self, offer: Callable[[ServedRules], None]) -> None:
        failures = 0
        delay = self.interval
        while not self._stop.wait(delay):
            try:
                self.check(offer)
            except (_Transient, RulesRefused) as exc:
                delay = self.backoff.delay(failures)
                failures += 1
                log.warning("cannot check the rules of %s (next try in %.0f s): %s", self.project, delay, exc)
                continue
            failures, delay = 0, self.interval

    def check(self, offer: Callable[[ServedRules], None]) -> bool:
        """Ask once; ``True`` when a new version was handed to ``offer``. Raises `_Transient` or
        `RulesRefused` when the server could not or would not answer (the previous version stays)."""
        current = self.current
        try:
            answer = self._fetch(current.etag if current else None)
        except _Invalid as exc:
            self._reject(exc)
            return False
        except (_Transient, RulesRefused) as exc:
            self._failed(str(exc))
            raise
        self._checked()
        if not isinstance(answer, ServedRules):
            return False  # unchanged, or (still) no rules: keep what runs
        with self._lock:
            if answer.etag in self._rejected:
                return False  # refused already: building it again would refuse it again
        try:
            offer(answer)
        except ValueError as exc:
            self._reject(_Invalid(answer.etag, f"the collector refused rules {answer.etag[:12]}: {exc}"))
            return False
        self.save_cache(answer)
        self.current = answer
        log.info("rules of %s: now version %s", self.project, answer.etag[:12])
        return True

    def _fetch(self, etag: str | None) -> ServedRules | _Unchanged | _NoRules:
        """One ``GET …/rules`` through the SDK (one attempt: this loop owns the retries)."""
        try:
            answer = self._client.get_rules(self.project, format="yaml", etag=etag)
        except ServerUnavailable as exc:
            raise _Transient(str(exc)) from None
        except ApiError as exc:
            said = ServerAnswer(exc.status, exc.code, exc.message)
            if exc.status == 404 and exc.code in {NO_RULES_CODE, NO_ROUTE_CODE}:
                return _NoRules(server_keeps_none=exc.code == NO_ROUTE_CODE)
            if isinstance(exc, UnexpectedResponse) or classify(exc.status) is Outcome.TRANSIENT:
                raise _Transient(f"GET {self._where} answered {said}") from None
            hint = (
                "check --api-key (or FRAMESCOUT_API_KEY)"
                if exc.status == 401
                else "check --project and --api-key"
            )
            raise RulesRefused(f"{self.server} refused the rules of {self.project}: {said}; {hint}") from None
        if answer is None:
            return _Unchanged()
        source = f"the server's rules {answer.etag[:12]} for {self.project}"
        try:
            return parse_rules(answer.etag, answer.text, "yaml", source)
        except ConfigError as exc:
            raise _Invalid(answer.etag, str(exc)) from None

    # ------------------------------------------------------------------ the cache
    def read_cache(self) -> ServedRules | None:
        """The cached version for this project, or ``None`` (missing, another project's, unreadable or
        no longer valid: each logged)."""
        try:
            data = json.loads(self.cache_path.read_text(encoding="utf-8"))
            if data.get("project") != self.project:
                log.info("ignoring %s: it holds the rules of %s", self.cache_path, data.get("project"))
                return None
            return parse_rules(data["etag"], data["text"], data["format"], f"{self.cache_path}")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring the cached rules in %s: %s", self.cache_path, exc)
            return None

    def save_cache(self, rules: ServedRules) -> None:
        """Keep ``rules`` as the version an offline boot starts with (atomically: temp file + rename)."""
        data = {
            "project": self.project,
            "server": self.server,
            "etag": rules.etag,
            "format": rules.format,
            "text": rules.text,
            "fetched_at": time.time(),
        }
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            write_file_atomically(self.cache_path, json.dumps(data, indent=1).encode())
        except OSError as exc:  # the rules still apply; only an offline boot would miss them
            log.warning("cannot cache the rules in %s: %s", self.cache_path, exc)

    # ------------------------------------------------------------------ status
    def _checked(self) -> None:
        with self._lock:
            self._status["checks"] += 1
            self._status["last_check"] = time.time()
            self._status["last_error"] = None

    def _failed(self, message: str) -> None:
        with self._lock:
            self._status["errors"] += 1
            self._status["last_error"] = message

    def _reject(self, exc: _Invalid) -> None:
        self._checked()
        with self._lock:
            first = exc.etag not in self._rejected
            self._rejected[exc.etag] = str(exc)
        if first:
            log.warning("ignoring the server's rules %s (the previous version stays): %s", exc.etag[:12], exc)

    def status(self) -> dict[str, Any]:
        """``etag`` of the version in force here, ``source`` (server or cache at boot), check counts,
        ``last_error`` and the versions ``rejected`` as invalid (etag → why)."""
        with self._lock:
            return {
                **self._status,
                "etag": self.current.etag if self.current else None,
                "source": self.booted.source if self.booted else None,
                "rejected": dict(self._rejected),
            }
