"""Which blob store a process uses: ``FRAMESCOUT_BLOB_URL`` / ``--blob-url``.

- unset (or empty): the data directory's ``blobs/``, as in the embedded install;
- ``file:///srv/framescout-blobs``: a `LocalBlobStore` at that absolute path (a shared mount);
- ``s3://bucket`` or ``s3://bucket/prefix``: an `S3BlobStore` (the ``s3`` extra; ``AWS_*`` variables).

Anything else is refused with a message naming the setting, before any worker starts."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from framescout.store.blobs import BlobStore, LocalBlobStore

BLOB_URL_ENV = "FRAMESCOUT_BLOB_URL"
SETTING = f"{BLOB_URL_ENV} / --blob-url"


class BlobStoreUnavailable(Exception):
    """The blob store cannot be used as configured (a bad URL, a missing extra, an unreachable endpoint,
    refused credentials, no such bucket); the message is one line that names the setting to fix."""


def open_blob_store(url: str | None, data_dir: Path) -> BlobStore:
    """The blob store ``url`` names; the data directory's ``blobs/`` when ``url`` is empty."""
    if not url:
        return LocalBlobStore(data_dir / "blobs")
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise BlobStoreUnavailable(f"{SETTING}: {url!r} needs an absolute path, e.g. file:///srv/blobs")
        return LocalBlobStore(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        if not parts.netloc or parts.query or parts.fragment:
            raise BlobStoreUnavailable(f"{SETTING}: {url!r} is not s3://bucket or s3://bucket/prefix")
        from framescout.store.s3_blobs import S3BlobStore

        return S3BlobStore.open(parts.netloc, unquote(parts.path))
    raise BlobStoreUnavailable(
        f"{SETTING}: unsupported blob URL {url!r}; use file:///absolute/path or s3://bucket/prefix"
    )


def describe_blob_store(blobs: BlobStore) -> str:
    """Where the blobs are, for banners and messages."""
    from framescout.store.s3_blobs import S3BlobStore

    if isinstance(blobs, S3BlobStore):
        return blobs.describe()
    if isinstance(blobs, LocalBlobStore):
        return str(blobs.root)
    return type(blobs).__name__
