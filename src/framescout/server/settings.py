"""Server settings (data directory, caps, timeouts), read from arguments or ``FRAMESCOUT_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from framescout.imaging import MAX_BYTES, MAX_PIXELS
from framescout.store.accounts import MAX_CLASSES_PER_PROJECT, MAX_NEW_CLASSES_PER_REQUEST, ClassLimits
from framescout.store.datadir import DATA_DIR_ENV, default_data_dir

if TYPE_CHECKING:
    from framescout.server.fetch import FetchPolicy

FETCH_TIMEOUT = 10.0
FETCH_CONCURRENCY = 16


def split_list(text: str | None) -> tuple[str, ...]:
    """``"a, b,,c"`` → ``("a", "b", "c")`` (comma-separated option values)."""
    return tuple(p for p in (part.strip() for part in (text or "").split(",")) if p)


@dataclass(frozen=True)
class Settings:
    """What `create_app` needs; every field has a safe default."""

    data_dir: Path
    max_upload_bytes: int = MAX_BYTES
    max_pixels: int = MAX_PIXELS
    fetch_timeout: float = FETCH_TIMEOUT
    """Total deadline of one server-side URL fetch, queueing included (not per read)."""
    fetch_concurrency: int = FETCH_CONCURRENCY
    """URL fetches in flight per worker process; more wait (within their deadline)."""
    fetch_allow: tuple[str, ...] = ()
    """CIDRs and host names URL fetches may reach although they are loopback/private/link-local/..."""
    max_classes: int = MAX_CLASSES_PER_PROJECT
    max_new_classes: int = MAX_NEW_CLASSES_PER_REQUEST
    thumbnail_size: int = 256

    @property
    def max_request_bytes(self) -> int:
        """Body cap for any request: one image plus room for the form fields."""
        return self.max_upload_bytes + 2 * 1024 * 1024

    @property
    def fetch_policy(self) -> FetchPolicy:
        """The URL-fetch policy (raises ValueError for an allow-list entry that is not a CIDR or name)."""
        from framescout.server.fetch import FetchPolicy  # httpx & co. only where fetches happen

        return FetchPolicy(
            deadline=self.fetch_timeout,
            max_bytes=self.max_upload_bytes,
            concurrency=self.fetch_concurrency,
            allow=self.fetch_allow,
        )

    @property
    def class_limits(self) -> ClassLimits:
        return ClassLimits(max_total=self.max_classes, max_new=self.max_new_classes)

    @classmethod
    def from_env(cls) -> Settings:
        """Settings for worker processes started by uvicorn (``framescout serve --workers N``)."""
        env = os.environ
        return cls(
            data_dir=Path(env[DATA_DIR_ENV]) if env.get(DATA_DIR_ENV) else default_data_dir(),
            max_upload_bytes=int(env.get("FRAMESCOUT_MAX_UPLOAD_BYTES", MAX_BYTES)),
            max_pixels=int(env.get("FRAMESCOUT_MAX_PIXELS", MAX_PIXELS)),
            fetch_timeout=float(env.get("FRAMESCOUT_FETCH_TIMEOUT", FETCH_TIMEOUT)),
            fetch_concurrency=int(env.get("FRAMESCOUT_FETCH_CONCURRENCY", FETCH_CONCURRENCY)),
            fetch_allow=split_list(env.get("FRAMESCOUT_FETCH_ALLOW")),
            max_classes=int(env.get("FRAMESCOUT_MAX_CLASSES", MAX_CLASSES_PER_PROJECT)),
            max_new_classes=int(env.get("FRAMESCOUT_MAX_NEW_CLASSES", MAX_NEW_CLASSES_PER_REQUEST)),
        )

    def to_env(self) -> dict[str, str]:
        return {
            DATA_DIR_ENV: str(self.data_dir),
            "FRAMESCOUT_MAX_UPLOAD_BYTES": str(self.max_upload_bytes),
            "FRAMESCOUT_MAX_PIXELS": str(self.max_pixels),
            "FRAMESCOUT_FETCH_TIMEOUT": str(self.fetch_timeout),
            "FRAMESCOUT_FETCH_CONCURRENCY": str(self.fetch_concurrency),
            "FRAMESCOUT_FETCH_ALLOW": ",".join(self.fetch_allow),
            "FRAMESCOUT_MAX_CLASSES": str(self.max_classes),
            "FRAMESCOUT_MAX_NEW_CLASSES": str(self.max_new_classes),
        }
