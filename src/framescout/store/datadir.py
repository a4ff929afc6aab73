"""The data directory layout: ``framescout.db`` (SQLite), ``blobs/`` (images), ``models/`` (ONNX files).

Which directory is used when none is given is `framescout.store.locate`'s job."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from framescout.store.blob_url import BLOB_URL_ENV, BlobStoreUnavailable, open_blob_store
from framescout.store.blobs import BlobStore, LocalBlobStore
from framescout.store.db import Database, sqlite_url
from framescout.store.locate import DATA_DIR_ENV, default_data_dir

__all__ = ["BLOB_URL_ENV", "DATABASE_URL_ENV", "DATA_DIR_ENV", "Store", "default_data_dir"]

DATABASE_URL_ENV = "FRAMESCOUT_DATABASE_URL"


@dataclass
class Store:
    """Everything persistent: metadata database, image blobs and registered model files."""

    data_dir: Path
    db: Database
    blobs: BlobStore
    models_dir: Path
    created: bool

    @classmethod
    def open(
        cls, data_dir: str | Path, *, database_url: str | None = None, blob_url: str | None = None
    ) -> Store:
        """Open (creating if needed) a data directory and migrate its database. The blob store is
        ``blob_url``, else ``$FRAMESCOUT_BLOB_URL``, else ``blobs/`` here (`framescout.store.blob_url`);
        it is checked first, so a bad one fails before any migration (`BlobStoreUnavailable`)."""
        root = Path(data_dir).expanduser().resolve()
        db_path = root / "framescout.db"
        created = not db_path.exists()
        root.mkdir(parents=True, exist_ok=True)
        blobs = open_blob_store(blob_url or os.environ.get(BLOB_URL_ENV), root)
        url = database_url or os.environ.get(DATABASE_URL_ENV) or sqlite_url(db_path)
        models_dir = root / "models"
        models_dir.mkdir(exist_ok=True)
        return cls(root, Database.open(url), blobs, models_dir, created)

    @property
    def shared_blobs(self) -> bool:
        """True for an object store (``s3://``) that every host reads: registered model files are put
        there too, so a host fetches a model it has never seen (`server.inference.ModelRegistry`)."""
        return not isinstance(self.blobs, LocalBlobStore)

    @property
    def local_blobs(self) -> LocalBlobStore:
        """The blob store when it is a directory (what file-level checks such as `framescout doctor`'s
        need); `BlobStoreUnavailable` for an S3 store, which they do not check yet."""
        if not isinstance(self.blobs, LocalBlobStore):
            raise BlobStoreUnavailable(
                "blob files are checked only in a directory, not yet in an s3:// blob store "
                f"(unset {BLOB_URL_ENV} / --blob-url, or give a file:// one, to check a local copy)"
            )
        return self.blobs

    def close(self) -> None:
        self.db.dispose()
