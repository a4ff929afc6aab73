"""Scan unlabelled images (a folder, or a server project) into a selection pool: each image is scored
by `framescout.selection.scoring` (hash, decode, embed, and optionally a detector's predictions and
their stability across views), then duplicates are dropped."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from framescout.predictions import Predictions
from framescout.selection.dedup import remove_duplicates
from framescout.selection.embedders import Embedder
from framescout.selection.pool import Pool
from framescout.selection.scoring import ScoredImage, Scorer
from framescout.selection.stability import Detector, Stability

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


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
    views: Sequence[str] = (),
    near_duplicate_bits: int = 4,
    progress: Callable[[int], None] | None = None,
    scorer: Scorer | None = None,
) -> ScannedPool:
    """Read every image once: content hash, pHash, optional embedding, predictions and their stability
    under ``views`` (all by one `Scorer`, in batches). Unreadable and corrupt images are skipped with
    the reason; exact and near duplicates are dropped before selection. A ready ``scorer`` replaces
    ``embedder``, ``detector``, ``confidence`` and ``views``."""
    if scorer is not None:
        return _assemble(items, _score_batches(items, scorer, progress), near_duplicate_bits, len(items))
    own = Scorer(detector=detector, embedder=embedder, views=views, confidence=confidence)
    try:
        return _assemble(items, _score_batches(items, own, progress), near_duplicate_bits, len(items))
    finally:
        own.close()


def scan_scored(
    items: Sequence[PoolItem], scored: Sequence[ScoredImage | str], near_duplicate_bits: int = 4
) -> ScannedPool:
    """A pool from images scored elsewhere (e.g. by Ray workers): ``scored[i]`` is item ``i``'s
    `ScoredImage`, or why it was skipped. Gives what `scan` gives for the same scores."""
    if len(scored) != len(items):
        raise ValueError(f"{len(items)} items but {len(scored)} scores")
    return _assemble(items, iter(scored), near_duplicate_bits, len(items))


SCORE_BATCH = 32
"""Images read and handed to `Scorer.score_many` at a time by `scan`."""


def _score_batches(
    items: Sequence[PoolItem], scorer: Scorer, progress: Callable[[int], None] | None
) -> Iterator[ScoredImage | str]:
    """Each item's score (or skip reason) in order, scoring `SCORE_BATCH` items at a time."""
    for start in range(0, len(items), SCORE_BATCH):
        batch = items[start : start + SCORE_BATCH]
        results: list[ScoredImage | str | None] = [None] * len(batch)
        blobs: list[bytes] = []
        where: list[int] = []
        for i, item in enumerate(batch):
            try:
                blobs.append(item.read())
                where.append(i)
            except OSError as exc:
                results[i] = f"unreadable: {exc.strerror or exc}"
        for i, scored in zip(where, scorer.score_many(blobs), strict=True):
            results[i] = scored
        for done, result in enumerate(results, start=start + 1):
            assert result is not None
            yield result
            if progress:
                progress(done)


def _assemble(
    items: Sequence[PoolItem], scored: Iterator[ScoredImage | str], near_duplicate_bits: int, capacity: int
) -> ScannedPool:
    """Deduplicate scored items into a pool; embeddings stream into a memory map as they come."""
    kept: list[PoolItem] = []
    hashes: list[str] = []
    phashes: list[NDArray[np.uint8]] = []
    vectors = _VectorStore(capacity)
    predictions: list[Predictions] = []
    stability: list[Stability] = []
    skipped: dict[str, str] = {}
    for item, result in zip(items, scored, strict=True):
        if isinstance(result, str):
            skipped[item.name] = result
            continue
        kept.append(item)
        hashes.append(result.sha256)
        phashes.append(result.phash)
        if result.embedding is not None:
            vectors.append(result.embedding)
        if result.predictions is not None:
            predictions.append(result.predictions)
        elif item.predictions is not None:
            predictions.append(item.predictions)
        if result.stability is not None:
            stability.append(result.stability)
    if predictions and len(predictions) != len(kept):
        raise ValueError(
            "some items carry predictions and others do not; give a detector to predict them all"
        )
    if vectors.count not in (0, len(kept)) or len(stability) not in (0, len(kept)):
        raise ValueError("some scored images carry embeddings or stability and others do not")
    packed = np.stack(phashes) if phashes else np.zeros((0, 8), dtype=np.uint8)
    dedup = remove_duplicates(hashes, packed, max_distance=near_duplicate_bits)
    keep = np.flatnonzero(dedup.keep)
    duplicates = {kept[i].name: kept[j].name for i, j in dedup.duplicate_of.items()}
    pool = Pool(
        embeddings=vectors.keep(keep) if len(keep) else None,
        predictions=[predictions[i] for i in keep] if predictions else None,
        stability=[stability[i] for i in keep] if stability else None,
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
