"""Content-addressed blob storage: ``blobs/ab/cd/<sha256>``, written atomically (temp file + rename).

`BlobStore` is the interface; `LocalBlobStore` keeps files on disk. An S3 backend implements the same
four methods with object keys of the same shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from framescout.atomic import write_file_atomically
from framescout.imaging import sha256_hex


class BlobStore(Protocol):
    """Where image bytes live, addressed by their SHA-256."""

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store bytes; return ``(sha256, created)`` where ``created`` is False if it already existed."""
        ...

    def get(self, sha256: str) -> bytes:
        """The stored bytes; `KeyError` when absent."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None:
        """Remove a blob (no error when absent)."""
        ...

    def iter_hashes(self) -> list[str]:
        """Every stored hash, sorted."""
        ...


def _check_hash(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise KeyError(sha256)
    return sha256


class LocalBlobStore:
    """Blobs as files under ``root``; fan-out by the first two byte pairs of the hash."""

    def __init__(self, root: str | Path, *, fsync: bool = False) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        sha256 = _check_hash(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> tuple[str, bool]:
        sha256 = sha256_hex(data)
        final = self.path(sha256)
        if final.exists():
            return sha256, False
        final.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomically(
            final, data, tmp_dir=self._tmp, prefix=sha256[:8], suffix=".part", fsync=self.fsync
        )
        return sha256, True

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise KeyError(sha256) from None

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def iter_hashes(self) -> list[str]:
        """Every stored hash (used by integrity checks and benchmarks)."""
        return sorted(p.name for p in self.root.glob("??/??/*") if p.is_file())
