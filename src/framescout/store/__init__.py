"""Persistence: tables, migrations, the content-addressed blob store and domain operations."""

from framescout.store.blobs import BlobStore, LocalBlobStore
from framescout.store.datadir import Store, default_data_dir
from framescout.store.db import Database
from framescout.store.errors import Conflict, Invalid, NotFound, StoreError, TooLarge, Unsupported

__all__ = [
    "BlobStore",
    "Conflict",
    "Database",
    "Invalid",
    "LocalBlobStore",
    "NotFound",
    "Store",
    "StoreError",
    "TooLarge",
    "Unsupported",
    "default_data_dir",
]
