"""``framescout collect --model server``: run the model the server deploys to this device, and switch
when the deployment changes.

`ModelSync.start` asks the deployment route (`GET …/deployment?labels=…`) once, downloads and loads
what it names (`model_cache.ModelCache`: resumable, SHA-256 verified, atomic rename), or, when the
server cannot be asked, boots from the last model that loaded here. A background thread then asks
again every ``interval`` seconds; a new version is downloaded, verified and loaded (with its
self-check) on that thread, and only then published: the inference loop reads `ModelSync.current`
before each frame, so the detector changes between frames, never during one. A download that fails
its hash, or a model that fails to load, is refused (logged, counted in `status`) and the running
model keeps running."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from framescout.collector.model_cache import DownloadRefused, ModelCache, Target
from framescout.labels import to_query
from framescout.models import Detector, ModelError, verify_model

log = logging.getLogger("framescout.collector.model_sync")

DEFAULT_INTERVAL = 30.0


class ModelSyncError(Exception):
    """No model to run: the server names none (or cannot be asked) and nothing is cached."""


@dataclass(frozen=True)
class RunningModel:
    """The detector in use and the version that kept frames carry (``None``: not a registered one)."""

    detector: Detector
    version: str | None
    sha256: str | None = None


Loader = Callable[[Path, Target], Detector]


def load_checked(path: Path, target: Target) -> Detector:
    """`OnnxDetector` with the registered class names and layout, after its self-check (`verify_model`)."""
    detector, _ = verify_model(path, class_names=list(target.class_names), format=target.format)
    return detector


class FixedModel:
    """A model file given on the command line: `current` never changes."""

    def __init__(self, detector: Detector, version: str | None) -> None:
        self._running = RunningModel(detector, version)

    def current(self) -> RunningModel:
        return self._running

    def status(self) -> dict[str, Any]:
        return {"source": "file", "version": self._running.version}

    def close(self) -> None:
        """Nothing runs in the background."""


class ModelSync:
    """Follows the project's model deployment for a device with ``labels``."""

    def __init__(
        self,
        server: str,
        api_key: str,
        project: str,
        cache_dir: str | Path,
        *,
        labels: Mapping[str, str] | None = None,
        interval: float = DEFAULT_INTERVAL,
        timeout: float = 30.0,
        loader: Loader = load_checked,
    ) -> None:
        workspace, _, slug = project.strip("/").partition("/")
        self.project = project
        self.labels = dict(labels or {})
        self.interval = interval
        self.cache = ModelCache(cache_dir)
        self.loader = loader
        self._route = f"/api/v1/projects/{workspace}/{slug}/deployment"
        self._client = httpx.Client(
            base_url=server.rstrip("/"), headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout
        )
        self._running: RunningModel | None = None
        self._target: Target | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one check at a time (the thread's, or a caller's check_now)
        self.switches = 0
        self.refused = 0
        self.last_error: str | None = None
        self.last_check: float | None = None
        self.booted_from: str | None = None
        """``server`` or ``cache`` (offline boot), once `start` returned."""

    def start(self) -> RunningModel:
        """Load the deployed model (or, when the server cannot say, the last one that loaded here) and
        start checking every ``interval`` seconds; `ModelSyncError` when there is nothing to run."""
        try:
            target = self._ask()
        except (httpx.HTTPError, ValueError) as exc:
            self.last_error = _describe(exc)
            target = None
        if target is not None:
            try:
                self._switch(target)
                self.booted_from = "server"
            except (DownloadRefused, ModelError, httpx.HTTPError, OSError) as exc:
                self._refuse(target, exc)
        if self._running is None:
            self._boot_from_cache()
        self._thread = threading.Thread(target=self._loop, name="framescout-model-sync", daemon=True)
        self._thread.start()
        assert self._running is not None
        return self._running

    def current(self) -> RunningModel:
        """The model to run on the next frame (a new one appears here only once it has loaded)."""
        assert self._running is not None, "call start() first"
        return self._running

    def check_now(self) -> bool:
        """Ask the server once and switch if it names another model; True when the model changed."""
        with self._lock:
            try:
                target = self._ask()
            except (httpx.HTTPError, ValueError) as exc:
                self.last_error = _describe(exc)
                return False
            finally:
                self.last_check = time.time()
            if target is None:
                return False  # nothing deployed (any more) to this device: keep what runs
            running = self._running
            if running is not None and running.sha256 == target.sha256 and self._same(target):
                self.last_error = None
                return False
            try:
                self._switch(target)
            except (DownloadRefused, ModelError, httpx.HTTPError, OSError) as exc:
                self._refuse(target, exc)
                return False
            self.last_error = None
            return True

    def status(self) -> dict[str, Any]:
        """What the collector reports: the running ``version`` and ``sha256``, the deployment it
        follows, ``switches``, ``refused`` downloads or loads, ``last_error``, ``last_check``."""
        running, target = self._running, self._target
        return {
            "source": "server",
            "version": running.version if running else None,
            "sha256": running.sha256 if running else None,
            "deployment_id": target.deployment_id if target else None,
            "labels": dict(self.labels),
            "booted_from": self.booted_from,
            "switches": self.switches,
            "refused": self.refused,
            "last_error": self.last_error,
            "last_check": self.last_check,
            "last_download": self.cache.last_download,
        }

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._client.timeout.read or 30.0)
        self._client.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check_now()
            except Exception:  # never let the checker die: the running model goes on regardless
                log.exception("checking the model deployment failed")

    def _ask(self) -> Target | None:
        """The deployment for this device; ``None`` when none is deployed (404 ``no_deployment``)."""
        params = {"labels": to_query(self.labels)} if self.labels else None
        answer = self._client.get(self._route, params=params)
        if answer.status_code == 404 and _code(answer) == "no_deployment":
            self.last_error = "no model is deployed to this device"
            return None
        answer.raise_for_status()
        return Target.from_answer(self.project, answer.json())

    def _same(self, target: Target) -> bool:
        return self._target is not None and self._target.version == target.version

    def _switch(self, target: Target) -> None:
        """Download, verify and load ``target``, then publish it (the next frame runs it)."""
        path = self.cache.fetch(self._client, target)
        detector = self.loader(path, target)
        previous = self._running
        self._running = RunningModel(detector, str(target.version), target.sha256)
        self._target = target
        self.cache.remember(target)
        if previous is not None:
            self.switches += 1
            log.warning("model: switched from version %s to version %s", previous.version, target.version)

    def _refuse(self, target: Target, exc: Exception) -> None:
        self.refused += 1
        self.last_error = f"version {target.version} refused: {_describe(exc)}"
        keeps = f"; version {self._running.version} keeps running" if self._running else ""
        log.warning("model: %s%s", self.last_error, keeps)

    def _boot_from_cache(self) -> None:
        found = self.cache.last_good(self.project)
        if found is None:
            why = self.last_error or "the server could not be asked"
            raise ModelSyncError(
                f"no model to run: {why}, and {self.cache.root} holds no model that loaded before "
                "(deploy one with `framescout models deploy`, or start once with the server reachable)"
            )
        target, path = found
        try:
            self._running = RunningModel(self.loader(path, target), str(target.version), target.sha256)
        except ModelError as exc:
            raise ModelSyncError(f"the cached model {path} does not load: {exc}") from None
        self._target = target
        self.booted_from = "cache"
        log.warning("model: booting offline with cached version %s (%s)", target.version, self.last_error)


def _code(answer: httpx.Response) -> str | None:
    try:
        body = answer.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code")) if isinstance(error, dict) else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"the server answered {exc.response.status_code} {_code(exc.response) or ''}".rstrip()
    if isinstance(exc, httpx.TransportError):
        return f"the server is unreachable ({type(exc).__name__})"
    return str(exc) or type(exc).__name__
