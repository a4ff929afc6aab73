"""A registered model's file as the devices download it: from this host's ``models/`` when it has it,
else streamed from the shared ``s3://`` blob store (where `framescout models add` put it), in ranges.

The bytes are sent as stored, not re-hashed per request: the entity tag is the registered SHA-256 and
the device verifies the download against it, so a copy corrupted on disk or in the bucket is refused
on the device (and the model it runs keeps running)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from framescout.server.errors import Unavailable
from framescout.store.blobs import BlobStore
from framescout.store.s3_blobs import S3BlobStore

CHUNK = 256 * 1024


@dataclass(frozen=True)
class ModelFile:
    """Where one model file's bytes are read from: a local path, or an object of the shared store."""

    sha256: str
    size: int
    path: Path | None
    shared: S3BlobStore | None

    def chunks(self, first: int, last: int) -> Iterator[bytes]:
        """Bytes ``first`` to ``last`` (inclusive), a chunk at a time."""
        if self.path is not None:
            with self.path.open("rb") as handle:
                handle.seek(first)
                left = last - first + 1
                while left > 0:
                    data = handle.read(min(CHUNK, left))
                    if not data:
                        return
                    left -= len(data)
                    yield data
            return
        assert self.shared is not None
        yield from self.shared.iter_chunks(self.sha256, CHUNK, first=first, last=last)


def locate(models_dir: Path, shared: BlobStore | None, sha256: str) -> ModelFile:
    """The file of the model with this hash; 503 ``model_file_missing`` when neither this host nor the
    shared store has it."""
    path = models_dir / f"{sha256}.onnx"
    try:
        return ModelFile(sha256, path.stat().st_size, path, None)
    except FileNotFoundError:
        pass
    if isinstance(shared, S3BlobStore):
        try:
            return ModelFile(sha256, shared.size(sha256), None, shared)
        except KeyError:
            pass
    raise Unavailable("model_file_missing", f"the model file {sha256}.onnx is missing on the server")
