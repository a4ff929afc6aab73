"""The data directory layout: ``framescout.db`` (SQLite), ``blobs/`` (images), ``models/`` (ONNX files)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from framescout.store.blobs import LocalBlobStore
from framescout.store.db import Database, sqlite_url

DEFAULT_DATA_DIR = "./framescout-data"
DATA_DIR_ENV = "FRAMESCOUT_DATA_DIR"
DATABASE_URL_ENV = "FRAMESCOUT_DATABASE_URL"


def default_data_dir() -> Path:
    """``$FRAMESCOUT_DATA_DIR``, else ``./framescout-data``."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


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
