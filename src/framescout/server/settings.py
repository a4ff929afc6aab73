"""Server settings (data directory, caps, timeouts), read from arguments or ``FRAMESCOUT_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from framescout.imaging import MAX_BYTES, MAX_PIXELS
from framescout.store.accounts import MAX_CLASSES_PER_PROJECT, MAX_NEW_CLASSES_PER_REQUEST, ClassLimits
from framescout.store.datadir import DATA_DIR_ENV, default_data_dir

if TYPE_CHECKING:
    from framescout.server.fetch import FetchPolicy

LABEL_ASSIST_ENV = "FRAMESCOUT_LABEL_ASSIST"
FETCH_TIMEOUT = 10.0
FETCH_CONCURRENCY = 16


def label_assist_from_env() -> bool:
    """``FRAMESCOUT_LABEL_ASSIST``: ``on`` (the default) or ``off``; ValueError naming it otherwise."""
    value = os.environ.get(LABEL_ASSIST_ENV, "on").strip().lower()
    if value not in ("on", "off", "1", "0", "true", "false", "yes", "no"):
        raise ValueError(f"{LABEL_ASSIST_ENV} must be on or off, not {value!r}")
    return value in ("on", "1", "true", "yes")


def _seconds_from_env(name: str, default: float) -> float:
    text = os.environ.get(name)
    try:
        value = float(text) if text else default
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {text!r}")
    return value


def label_assist_interval_from_env() -> float:
    return _seconds_from_env("FRAMESCOUT_LABEL_ASSIST_INTERVAL", 2.0)


def label_assist_lease_from_env() -> float:
    return _seconds_from_env("FRAMESCOUT_LABEL_ASSIST_LEASE", 300.0)


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
    label_assist: bool = field(default_factory=label_assist_from_env)
    """Pre-label images that arrive without predictions with the project's current model
    (`framescout.server.label_assist`); ``FRAMESCOUT_LABEL_ASSIST=off`` turns it off."""
    label_assist_interval: float = field(default_factory=label_assist_interval_from_env)
    """Seconds between label-assist passes when there is nothing to label."""
    label_assist_lease: float = field(default_factory=label_assist_lease_from_env)
    """Seconds after which a claim of a worker that died is taken over by another."""

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
            LABEL_ASSIST_ENV: "on" if self.label_assist else "off",
            "FRAMESCOUT_LABEL_ASSIST_INTERVAL": str(self.label_assist_interval),
            "FRAMESCOUT_LABEL_ASSIST_LEASE": str(self.label_assist_lease),
        }
