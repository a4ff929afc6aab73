"""How spooled frames reach a server, and what each answer means for the frame.

The spool owns retries, so a transport tries once and either returns (delivered: new or duplicate) or
raises one of three errors. `classify` is the one place that maps an HTTP answer to an outcome:

- `TransientError` — connection errors, timeouts, 408, 429, every 5xx, redirects and 2xx answers that
  are not the expected JSON (captive portals, proxies): the frame stays spooled and is retried.
- `ConfigurationError` — 401, 403, 404 and the other 4xx that say "this device is set up wrong"
  (bad key, unknown workspace/project, a path the server does not have): the uploader pauses, the
  spool is kept, and it resumes by itself once the server accepts uploads again.
- `FrameRejected` — 400, 409, 413, 415, 422: the server refuses *this* frame; it is quarantined with
  the server's reason, never deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from framescout.client import ApiError, Client, RetryPolicy, ServerUnavailable, UnexpectedResponse
from framescout.collector.record import FrameRecord
from framescout.retry import RETRY_STATUSES


class Outcome(Enum):
    """What one failed upload attempt means."""

    TRANSIENT = "transient"
    CONFIGURATION = "configuration"
    REJECTED = "rejected"


FRAME_4XX = frozenset({400, 409, 413, 415, 422})
"""4xx answers about the frame itself (its bytes, size, type or fields): quarantine it."""


def classify(status: int) -> Outcome:
    """The outcome of an answer that was not a delivery. Unknown 4xx pause rather than quarantine:
    a pause loses nothing and is reported; quarantining every frame on a misconfiguration is worse."""
    if status >= 500 or status < 400 or status in RETRY_STATUSES:
        return Outcome.TRANSIENT
    if status in FRAME_4XX:
        return Outcome.REJECTED
    return Outcome.CONFIGURATION


@dataclass(frozen=True)
class ServerAnswer:
    """The server's reason, as kept in `status()` and in the quarantine: HTTP status, code, message."""

    status: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "message": self.message}


class TransientError(Exception):
    """Worth trying again later (server down or slow, 5xx, 429, a redirect, an answer that is not JSON)."""


class PermanentError(Exception):
    """Will not succeed by retrying as is; carries the server's ``answer``."""

    def __init__(self, answer: ServerAnswer) -> None:
        super().__init__(str(answer))
        self.answer = answer


class ConfigurationError(PermanentError):
    """The device is set up wrong for this server (key, workspace, project, URL): pause, keep the spool."""


class FrameRejected(PermanentError):
    """The server refuses this frame (too large, wrong type, invalid fields): quarantine it."""


def error_for(exc: ApiError) -> Exception:
    """The transport error for an SDK error (the classification above)."""
    if isinstance(exc, UnexpectedResponse):
        return TransientError(str(exc))
    answer = ServerAnswer(exc.status, exc.code, exc.message)
    outcome = classify(exc.status)
    if outcome is Outcome.TRANSIENT:
        return TransientError(str(answer))
    if outcome is Outcome.REJECTED:
        return FrameRejected(answer)
    return ConfigurationError(answer)


class Transport(Protocol):
    def send(self, jpeg: bytes, frame: FrameRecord) -> bool:
        """Deliver one frame; return ``True`` when the server already had it (a duplicate). Raise
        `TransientError`, `ConfigurationError` or `FrameRejected` otherwise."""
        ...

    def close(self) -> None: ...


def destination(project: str, frame: FrameRecord) -> str:
    """``workspace/project`` a frame is uploaded to: its own destination (a project slug, routed by its
    rule) in ``project``'s workspace, else ``project`` (the collector's)."""
    if frame.project is None:
        return project
    workspace = project.strip("/").split("/")[0]
    return f"{workspace}/{frame.project}"


class HttpTransport:
    """Uploads to a framescout server through the SDK, one attempt per call, each frame to its
    `destination`."""

    def __init__(self, server: str, api_key: str, project: str, timeout: float = 30.0) -> None:
        self.project = project
        self._client = Client(server, api_key, timeout=timeout, retry=RetryPolicy(attempts=1))

    def send(self, jpeg: bytes, frame: FrameRecord) -> bool:
        try:
            result = self._client.upload_image(
                destination(self.project, frame), jpeg, **frame.upload_fields()
            )
        except ServerUnavailable as exc:
            raise TransientError(str(exc)) from None
        except ApiError as exc:
            raise error_for(exc) from None
        return result.duplicate

    def close(self) -> None:
        self._client.close()


class FolderTransport:
    """ "Uploads" to a folder: each frame as ``<n>_<rule>.jpg`` plus a JSON sidecar with its predictions,
    rule, reason and tags (``framescout collect --dry-run``)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._count = len(list(self.folder.glob("*.jpg")))

    def send(self, jpeg: bytes, frame: FrameRecord) -> bool:
        self._count += 1
        stem = f"{self._count:06d}_{frame.sampling_rule}"
        try:
            (self.folder / f"{stem}.json").write_text(json.dumps(frame.to_json(), indent=1))
            tmp = self.folder / f"{stem}.jpg.tmp"
            tmp.write_bytes(jpeg)
            tmp.replace(self.folder / f"{stem}.jpg")
        except OSError as exc:
            raise TransientError(f"cannot write to {self.folder}: {exc}") from None
        return False

    def close(self) -> None:
        pass


def check_access(server: str, api_key: str, project: str, timeout: float = 10.0) -> str | None:
    """Ask the server whether ``api_key`` may use ``project`` (``GET /api/v1/projects/{ws}/{project}``)
    before any frame is read. ``None`` when it may; a one-line note when the server could not tell
    (unreachable, 5xx, not a framescout answer: frames spool and upload later); raises
    `ConfigurationError` when the server says no (wrong key, unknown workspace or project)."""
    try:
        with Client(server, api_key, timeout=timeout, retry=RetryPolicy(attempts=1)) as client:
            client.get_project(project)
    except ServerUnavailable as exc:
        return f"the server is unreachable ({exc})"
    except ApiError as exc:
        error = error_for(exc)
        if isinstance(error, ConfigurationError):
            raise error from None
        return f"the server could not confirm the project ({exc})"
    return None
