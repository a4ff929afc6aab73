"""Duplicate removal before selection: exact copies by content hash, near-copies by perceptual hash.

Items are visited in order; an item is dropped when it repeats the bytes of, or lies within
``max_distance`` bits of, an item already kept — so the first of each group survives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from framescout.selection.index import VectorIndex


@dataclass
class DedupResult:
    """Which items survive, and for each dropped one, the kept item it duplicates."""

    keep: NDArray[np.bool_]
    duplicate_of: dict[int, int] = field(default_factory=dict)
    exact: int = 0
    near: int = 0


def remove_duplicates(
    content_hashes: Sequence[str] | None,
    phashes: NDArray[np.uint8] | None,
    *,
    max_distance: int = 4,
) -> DedupResult:
    """Mark exact duplicates (same ``content_hashes``) and near duplicates (packed ``phashes`` within
    ``max_distance`` bits, searched with a Hamming index so large pools stay fast)."""
    sizes = {len(x) for x in (content_hashes, phashes) if x is not None}
    if len(sizes) > 1:
        raise ValueError("content_hashes and phashes must describe the same items")
    n = sizes.pop() if sizes else 0
    result = DedupResult(keep=np.ones(n, dtype=bool))
    if content_hashes is not None:
        first: dict[str, int] = {}
        for i, digest in enumerate(content_hashes):
            if digest in first:
                result.keep[i] = False
                result.duplicate_of[i] = first[digest]
                result.exact += 1
            else:
                first[digest] = i
    if phashes is None or n == 0:
        return result
    index = VectorIndex(phashes.shape[1] * 8, "hamming", expansion_search=64)
    for i in map(int, np.flatnonzero(result.keep)):
        if len(index):
            ids, distances = index.search(phashes[i], k=1)
            if ids[0] and distances[0][0] <= max_distance:
                result.keep[i] = False
                result.duplicate_of[i] = int(ids[0][0])
                result.near += 1
                continue
        index.add([str(i)], phashes[i : i + 1])
    return result
