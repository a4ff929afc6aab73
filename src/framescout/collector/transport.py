"""How spooled frames reach a server. The spool owns retries, so transports try once and say
whether a failure is worth retrying (`TransientError`) or not (`PermanentError`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from framescout.client import ApiError, Client, RetryPolicy, ServerUnavailable

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class TransientError(Exception):
    """Worth trying again later (server down, slow, 5xx, 429)."""


class PermanentError(Exception):
    """Will never succeed as is (the server refused this frame: bad key, unknown project, bad image)."""


class Transport(Protocol):
    def send(self, jpeg: bytes, meta: dict[str, Any]) -> bool:
        """Deliver one frame; return ``True`` when the server already had it (a duplicate)."""
        ...

    def close(self) -> None: ...


class HttpTransport:
    """Uploads to a framescout server through the SDK, one attempt per call."""

    def __init__(self, server: str, api_key: str, project: str, timeout: float = 30.0) -> None:
        self.project = project
        self._client = Client(server, api_key, timeout=timeout, retry=RetryPolicy(attempts=1))

    def send(self, jpeg: bytes, meta: dict[str, Any]) -> bool:
        try:
            result = self._client.upload_image(
                self.project,
                jpeg,
                name=meta.get("name"),
                tags=meta.get("tags", ()),
                metadata=meta.get("metadata"),
                predictions=meta.get("predictions"),
                sampling_rule=meta.get("rule"),
                sampling_reason=meta.get("reason"),
                model_version=meta.get("model_version"),
                device_id=meta.get("device_id"),
            )
        except ServerUnavailable as exc:
            raise TransientError(str(exc)) from None
        except ApiError as exc:
            if exc.status in RETRYABLE_STATUSES:
                raise TransientError(str(exc)) from None
            raise PermanentError(f"{exc.status} {exc.code}: {exc.message}") from None
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

    def send(self, jpeg: bytes, meta: dict[str, Any]) -> bool:
        self._count += 1
        stem = f"{self._count:06d}_{meta.get('rule', 'kept')}"
        try:
            (self.folder / f"{stem}.json").write_text(json.dumps(meta, indent=1))
            tmp = self.folder / f"{stem}.jpg.tmp"
            tmp.write_bytes(jpeg)
            tmp.replace(self.folder / f"{stem}.jpg")
        except OSError as exc:
            raise TransientError(f"cannot write to {self.folder}: {exc}") from None
        return False

    def close(self) -> None:
        pass
