"""K-center greedy (core-set) selection over embeddings, in memory-bounded chunks.

Repeatedly picks the item farthest from everything chosen or already labelled, which covers the
feature space with as few labels as possible (Sener & Savarese, 2018). Only an ``(n,)`` vector of
distances lives in memory besides the embeddings themselves, which may be a memory-mapped file.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

CHUNK = 16_384


def _sq_norms(x: NDArray[np.floating], chunk: int) -> NDArray[np.float32]:
    out = np.empty(len(x), dtype=np.float32)
    for start in range(0, len(x), chunk):
        block = np.asarray(x[start : start + chunk], dtype=np.float32)
        out[start : start + chunk] = np.einsum("ij,ij->i", block, block)
    return out


def _distances_to(
    x: NDArray[np.floating], norms: NDArray[np.float32], center: NDArray[np.float32], chunk: int
) -> NDArray[np.float32]:
    """Squared L2 distances from every row of ``x`` to one ``center``, chunk by chunk."""
    out = np.empty(len(x), dtype=np.float32)
    c_norm = float(center @ center)
    for start in range(0, len(x), chunk):
        block = np.asarray(x[start : start + chunk], dtype=np.float32)
        out[start : start + chunk] = norms[start : start + chunk] - 2.0 * (block @ center) + c_norm
    np.maximum(out, 0.0, out=out)
    return out


def min_distances(
    x: NDArray[np.floating], norms: NDArray[np.float32], centers: NDArray[np.floating], chunk: int = CHUNK
) -> NDArray[np.float32]:
    """Squared distance from each row of ``x`` to its nearest row of ``centers`` (chunked both ways)."""
    best = np.full(len(x), np.inf, dtype=np.float32)
    c = np.asarray(centers, dtype=np.float32)
    c_norms = np.einsum("ij,ij->i", c, c)
    step = max(1, (chunk * 64) // max(1, len(c)))
    for start in range(0, len(x), step):
        block = np.asarray(x[start : start + step], dtype=np.float32)
        d = norms[start : start + step, None] - 2.0 * (block @ c.T) + c_norms[None, :]
        best[start : start + step] = np.maximum(d.min(axis=1), 0.0)
    return best


def kcenter_greedy(
    embeddings: NDArray[np.floating],
    budget: int,
    *,
    labeled: NDArray[np.floating] | None = None,
    weights: NDArray[np.float64] | None = None,
    rng: np.random.Generator | None = None,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> NDArray[np.intp]:
    """Pick ``budget`` row indices of ``embeddings`` by farthest-first traversal.

    ``weights`` (optional, >= 0) scale each item's distance, favouring uncertain items among equally
    far ones. With nothing labelled, the first pick is random (``rng``). ``progress`` is called with
    the number of picks made so far.
    """
    n = len(embeddings)
    budget = min(budget, n)
    if budget <= 0:
        return np.empty(0, dtype=np.intp)
    rng = rng or np.random.default_rng(0)
    norms = _sq_norms(embeddings, chunk)
    chosen = np.empty(budget, dtype=np.intp)
    if labeled is not None and len(labeled):
        dist = min_distances(embeddings, norms, labeled, chunk)
        first = 0
    else:
        chosen[0] = int(rng.integers(n))
        dist = _distances_to(embeddings, norms, np.asarray(embeddings[chosen[0]], dtype=np.float32), chunk)
        first = 1
        if progress:
            progress(1)
    w = None if weights is None else np.asarray(weights, dtype=np.float32)
    for k in range(first, budget):
        score = dist if w is None else dist * w
        pick = int(np.argmax(score))
        chosen[k] = pick
        new = _distances_to(embeddings, norms, np.asarray(embeddings[pick], dtype=np.float32), chunk)
        np.minimum(dist, new, out=dist)
        dist[chosen[: k + 1]] = -1.0  # never pick twice, even among duplicates
        if progress:
            progress(k + 1)
    return chosen
