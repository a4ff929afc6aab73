"""Image bytes for the API and the review UI: the original (immutable, by content hash) and
thumbnails, made once per image and size and kept on disk beside the data (``cache/thumbs``).

Thumbnails come in a fixed set of sizes (`THUMBNAIL_SIZES`): a requested size is served at the
largest fixed size not above it, so "no larger than ``size``" holds and an image has at most
``len(THUMBNAIL_SIZES)`` cache files, however many distinct sizes are asked for.
Image bytes are content-addressed and immutable, so a thumbnail never goes stale; a grid of 48 is
then 48 small file reads instead of 48 decodes. The cache is disposable: delete it at any time."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fastapi import Response

from framescout.imaging import ImageError, thumbnail_jpeg
from framescout.store import NotFound, Store
from framescout.store.models import Image

IMMUTABLE = "private, max-age=31536000, immutable"
THUMBNAIL_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def thumbnail_side(size: int) -> int:
    """The fixed size a request for ``size`` is served at: the largest not above it (at least the
    smallest; the API refuses sizes outside ``[16, 1024]`` before this)."""
    return max((s for s in THUMBNAIL_SIZES if s <= size), default=THUMBNAIL_SIZES[0])


def original_response(store: Store, image: Image) -> Response:
    """The image's stored bytes; cacheable for ever, since they are addressed by their hash."""
    try:
        data = store.blobs.get(image.sha256)
    except KeyError:
        raise NotFound(
            "blob_missing", f"the bytes of image {image.id} are missing from the blob store"
        ) from None
    headers = {"Cache-Control": IMMUTABLE, "ETag": f'"{image.sha256}"'}
    return Response(data, media_type=image.content_type, headers=headers)


class ThumbnailCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_store(cls, store: Store) -> ThumbnailCache:
        return cls(store.data_dir / "cache" / "thumbs")

    def get(self, store: Store, sha256: str, side: int) -> bytes:
        """The JPEG thumbnail of blob ``sha256`` at `thumbnail_side` of ``side`` (raises ``KeyError`` /
        ``ImageError`` like decoding)."""
        side = thumbnail_side(side)
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


def thumbnail_response(
    store: Store, thumbnails: ThumbnailCache, image: Image, side: int, cache_control: str = IMMUTABLE
) -> Response:
    """A JPEG no larger than ``side`` on its longer side, at one of `THUMBNAIL_SIZES` (404 when the
    bytes are missing or unreadable)."""
    try:
        data = thumbnails.get(store, image.sha256, side)
    except (KeyError, ImageError):
        raise NotFound("blob_missing", f"the bytes of image {image.id} are missing or unreadable") from None
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": cache_control})
