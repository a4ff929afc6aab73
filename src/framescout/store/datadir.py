"""The data directory layout: ``framescout.db`` (SQLite), ``blobs/`` (images), ``models/`` (ONNX files).

Which directory is used when none is given is `framescout.store.locate`'s job."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from framescout.store.blobs import LocalBlobStore
from framescout.store.db import Database, sqlite_url
from framescout.store.locate import DATA_DIR_ENV, default_data_dir

__all__ = ["DATABASE_URL_ENV", "DATA_DIR_ENV", "Store", "default_data_dir"]

DATABASE_URL_ENV = "FRAMESCOUT_DATABASE_URL"


@dataclass
class Store:
    """Everything persistent: metadata database, image blobs and registered model files."""

    data_dir: Path
    db: Database
    blobs: LocalBlobStore
    models_dir: Path
    created: bool

    @classmethod
    def open(cls, data_dir: str | Path, *, database_url: str | None = None) -> Store:
        """Open (creating if needed) a data directory and migrate its database."""
        root = Path(data_dir).expanduser().resolve()
        db_path = root / "framescout.db"
        created = not db_path.exists()
        root.mkdir(parents=True, exist_ok=True)
        url = database_url or os.environ.get(DATABASE_URL_ENV) or sqlite_url(db_path)
        models_dir = root / "models"
        models_dir.mkdir(exist_ok=True)
        return cls(root, Database.open(url), LocalBlobStore(root / "blobs"), models_dir, created)

    def close(self) -> None:
        self.db.dispose()
