"""Scan a folder of unlabelled images into a selection pool: hash, decode, deduplicate, embed, and
(optionally) run a detector so uncertainty strategies have predictions to rank by."""

from __future__ import annotations

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


@dataclass
class ScannedPool:
    """A folder turned into a pool: ``paths[i]`` is pool item ``i``; what was skipped and why."""

    paths: list[Path]
    pool: Pool
    hashes: list[str]
    skipped: dict[str, str] = field(default_factory=dict)
    duplicates: dict[str, str] = field(default_factory=dict)


def list_images(folder: Path, recursive: bool = True) -> list[Path]:
    """Image files under ``folder``, sorted, by suffix."""
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def scan_folder(
    paths: Sequence[Path],
    *,
    embedder: Embedder | None = None,
    detector: Detector | None = None,
    confidence: float = 0.05,
    near_duplicate_bits: int = 4,
    progress: Callable[[int], None] | None = None,
) -> ScannedPool:
    """Read every image once: content hash, pHash, optional embedding and predictions. Unreadable and
    corrupt files are skipped with the reason; exact and near duplicates are dropped before selection."""
    hasher = PerceptualHash()
    kept_paths: list[Path] = []
    hashes: list[str] = []
    phashes: list[NDArray[np.uint8]] = []
    vectors: list[NDArray[Any]] = []
    predictions: list[Predictions] = []
    skipped: dict[str, str] = {}
    for done, path in enumerate(paths, start=1):
        try:
            data = path.read_bytes()
            image = to_bgr(decode_image(data))
        except OSError as exc:
            skipped[str(path)] = f"unreadable: {exc.strerror or exc}"
        except ImageError as exc:
            skipped[str(path)] = f"{exc.code}: {exc}"
        else:
            kept_paths.append(path)
            hashes.append(sha256_hex(data))
            phashes.append(hasher.hash_one(image))
            if embedder is not None:
                vectors.append(embedder.embed([image])[0])
            if detector is not None:
                predictions.append(detector.predict(image, confidence=confidence))
        if progress:
            progress(done)
    packed = np.stack(phashes) if phashes else np.zeros((0, 8), dtype=np.uint8)
    dedup = remove_duplicates(hashes, packed, max_distance=near_duplicate_bits)
    keep = np.flatnonzero(dedup.keep)
    duplicates = {str(kept_paths[i]): str(kept_paths[j]) for i, j in dedup.duplicate_of.items()}
    pool = Pool(
        embeddings=np.stack([vectors[i] for i in keep]) if vectors and len(keep) else None,
        predictions=[predictions[i] for i in keep] if predictions else None,
        size=len(keep),
    )
    return ScannedPool(
        paths=[kept_paths[i] for i in keep],
        pool=pool,
        hashes=[hashes[i] for i in keep],
        skipped=skipped,
        duplicates=duplicates,
    )
