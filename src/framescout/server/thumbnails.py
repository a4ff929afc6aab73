"""Thumbnails, made once per image and size and kept on disk beside the data (``cache/thumbs``).

Image bytes are content-addressed and immutable, so a thumbnail never goes stale; a grid of 48 is
then 48 small file reads instead of 48 decodes. The cache is disposable: delete it at any time."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from framescout.imaging import thumbnail_jpeg
from framescout.store import Store


class ThumbnailCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_store(cls, store: Store) -> ThumbnailCache:
        return cls(store.data_dir / "cache" / "thumbs")

    def get(self, store: Store, sha256: str, side: int) -> bytes:
        """The JPEG thumbnail of blob ``sha256`` (raises ``KeyError`` / ``ImageError`` like decoding)."""
        path = self.root / sha256[:2] / f"{sha256}-{side}.jpg"
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        data = thumbnail_jpeg(store.blobs.get(sha256), side)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)  # atomic: a concurrent reader sees all of it or nothing
        except OSError:
            pass  # a full or read-only disk only costs speed
        return data
