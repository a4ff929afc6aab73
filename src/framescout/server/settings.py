"""Server settings (data directory, caps, timeouts), read from arguments or ``FRAMESCOUT_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from framescout.imaging import MAX_BYTES, MAX_PIXELS
from framescout.store.datadir import DATA_DIR_ENV, default_data_dir


@dataclass(frozen=True)
class Settings:
    """What `create_app` needs; every field has a safe default."""

    data_dir: Path
    max_upload_bytes: int = MAX_BYTES
    max_pixels: int = MAX_PIXELS
    fetch_timeout: float = 10.0
    thumbnail_size: int = 256

    @property
    def max_request_bytes(self) -> int:
        """Body cap for any request: one image plus room for the form fields."""
        return self.max_upload_bytes + 2 * 1024 * 1024

    @classmethod
    def from_env(cls) -> Settings:
        """Settings for worker processes started by uvicorn (``framescout serve --workers N``)."""
        env = os.environ
        return cls(
            data_dir=Path(env[DATA_DIR_ENV]) if env.get(DATA_DIR_ENV) else default_data_dir(),
            max_upload_bytes=int(env.get("FRAMESCOUT_MAX_UPLOAD_BYTES", MAX_BYTES)),
            max_pixels=int(env.get("FRAMESCOUT_MAX_PIXELS", MAX_PIXELS)),
        )

    def to_env(self) -> dict[str, str]:
        return {
            DATA_DIR_ENV: str(self.data_dir),
            "FRAMESCOUT_MAX_UPLOAD_BYTES": str(self.max_upload_bytes),
            "FRAMESCOUT_MAX_PIXELS": str(self.max_pixels),
        }
