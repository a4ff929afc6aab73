"""Scan unlabelled images (a folder, or a server project) into a selection pool: hash, decode,
deduplicate, embed, and (optionally) run a detector so uncertainty strategies have predictions."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from framescout.imaging import ImageError, decode_image, sha256_hex, to_bgr
from framescout.predictions import Predictions
from framescout.selection.dedup import remove_duplicates
from framescout.selection.embedders import Embedder, PerceptualHash
from framescout.selection.pool import Pool

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


class Detector(Protocol):
    """What selection needs of a model runner (see `framescout.models`)."""

    def predict(self, image: Any, confidence: float = ..., iou: float = ...) -> Predictions: ...


@dataclass(frozen=True)
class PoolItem:
    """One candidate: a display name, how to read its bytes, and predictions already known for it
    (e.g. the pre-labels a collector uploaded), used when no detector is given."""

    name: str
    read: Callable[[], bytes]
    id: str | None = None
    predictions: Predictions | None = None


@dataclass
class ScannedPool:
    """Items turned into a pool: ``items[i]`` is pool item ``i``; what was skipped and why."""

    items: list[PoolItem]
    pool: Pool
    hashes: list[str]
    skipped: dict[str, str] = field(default_factory=dict)
    duplicates: dict[str, str] = field(default_factory=dict)


def duplicate_groups(scanned: ScannedPool) -> dict[str, list[str]]:
    """For each kept item's name, the names of the dropped exact and near duplicates it stands for."""
    groups: dict[str, list[str]] = {}
    for dropped, kept in scanned.duplicates.items():
        groups.setdefault(kept, []).append(dropped)
    return groups


def list_images(folder: Path, recursive: bool = True) -> list[Path]:
    """Image files under ``folder``, sorted, by suffix."""
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def scan_folder(paths: Sequence[Path], **options: Any) -> ScannedPool:
    """`scan` over image files."""
    return scan([PoolItem(str(p), p.read_bytes) for p in paths], **options)


def scan(
    items: Sequence[PoolItem],
    *,
    embedder: Embedder | None = None,
    detector: Detector | None = None,
    confidence: float = 0.05,
    near_duplicate_bits: int = 4,
    progress: Callable[[int], None] | None = None,
) -> ScannedPool:
    """Read every image once: content hash, pHash, optional embedding and predictions. Unreadable and
    corrupt images are skipped with the reason; exact and near duplicates are dropped before selection."""
    hasher = PerceptualHash()
    kept: list[PoolItem] = []
    hashes: list[str] = []
    phashes: list[NDArray[np.uint8]] = []
    vectors = _VectorStore(len(items)) if embedder is not None else None
    predictions: list[Predictions] = []
    skipped: dict[str, str] = {}
    for done, item in enumerate(items, start=1):
        try:
            data = item.read()
            image = to_bgr(decode_image(data))
        except OSError as exc:
            skipped[item.name] = f"unreadable: {exc.strerror or exc}"
        except ImageError as exc:
            skipped[item.name] = f"{exc.code}: {exc}"
        else:
            kept.append(item)
            hashes.append(sha256_hex(data))
            phashes.append(hasher.hash_one(image))
            if embedder is not None and vectors is not None:
                vectors.append(embedder.embed([image])[0])
            if detector is not None:
                predictions.append(detector.predict(image, confidence=confidence))
            elif item.predictions is not None:
                predictions.append(item.predictions)
        if progress:
            progress(done)
    if predictions and len(predictions) != len(kept):
        raise ValueError(
            "some items carry predictions and others do not; give a detector to predict them all"
        )
    packed = np.stack(phashes) if phashes else np.zeros((0, 8), dtype=np.uint8)
    dedup = remove_duplicates(hashes, packed, max_distance=near_duplicate_bits)
    keep = np.flatnonzero(dedup.keep)
    duplicates = {kept[i].name: kept[j].name for i, j in dedup.duplicate_of.items()}
    pool = Pool(
        embeddings=vectors.keep(keep) if vectors is not None and len(keep) else None,
        predictions=[predictions[i] for i in keep] if predictions else None,
        size=len(keep),
    )
    return ScannedPool(
        items=[kept[i] for i in keep],
        pool=pool,
        hashes=[hashes[i] for i in keep],
        skipped=skipped,
        duplicates=duplicates,
    )


class _VectorStore:
    """Embeddings of a scan, written row by row into a memory-mapped temporary file.

    A 100k x 512 pool is 200 MB of float32: kept on disk (the page cache holds what fits) instead of
    as 100k small arrays plus a stacked copy. The file is unlinked at once, so it vanishes with the
    mapping; duplicates are compacted in place, never copied."""

    CHUNK = 4096

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.count = 0
        self._rows: np.memmap[Any, np.dtype[np.float32]] | None = None

    def append(self, vector: NDArray[Any]) -> None:
        if self._rows is None:
            fd, path = tempfile.mkstemp(prefix="framescout-embeddings-", suffix=".f32")
            os.close(fd)
            try:
                self._rows = np.memmap(path, dtype=np.float32, mode="w+", shape=(self.capacity, len(vector)))
            finally:
                os.unlink(path)
        self._rows[self.count] = vector
        self.count += 1

    def keep(self, indices: NDArray[np.intp]) -> NDArray[np.float32] | None:
        """The rows at ascending ``indices``, moved to the front in chunks; a view, not a copy."""
        if self._rows is None:
            return None
        rows = self._rows
        if len(indices) != self.count:  # some rows were duplicates: close the gaps
            for start in range(0, len(indices), self.CHUNK):
                chunk = indices[start : start + self.CHUNK]
                rows[start : start + len(chunk)] = rows[
                    chunk
                ]  # chunk[i] >= start + i: never overwrites ahead
        view: NDArray[np.float32] = rows[: len(indices)]
        return view
