"""Nearest-neighbour engines side by side for ``selection_speed.py``: framescout's ``VectorIndex``
(usearch HNSW) and its peers faiss-cpu (``IndexHNSWFlat``) and hnswlib, behind one small interface,
plus the search-breadth sweep that finds each engine's smallest ``ef`` reaching a recall target.

All three are HNSW graphs built with the same parameters (M / connectivity, ef_construction /
expansion_add) on the same unit vectors with the same similarity (cosine = inner product on unit
vectors), so what differs is the implementation and the stored precision. faiss and hnswlib come
from the ``bench`` extra and are imported only when asked for.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from framescout.selection import VectorIndex


class Engine(Protocol):
    """One k-NN engine: build once, then search at any breadth ``ef`` with ``threads`` (0 = all)."""

    name: str

    def build(self, data: NDArray[np.float32], threads: int) -> None: ...

    def search(self, queries: NDArray[np.float32], k: int, ef: int, threads: int) -> NDArray[np.int64]: ...


class Ours:
    """framescout's ``VectorIndex`` (the product's wrapper: string ids, its default settings)."""

    def __init__(self, dim: int, *, dtype: str | None = None, connectivity: int = 16, ef_add: int = 128):
        self.dim, self.dtype, self.connectivity, self.ef_add = dim, dtype, connectivity, ef_add
        self.index = VectorIndex(dim, "cos", dtype=dtype, connectivity=connectivity, expansion_add=ef_add)
        self.name = f"framescout VectorIndex ({self.index.dtype}, M={connectivity})"

    def build(self, data: NDArray[np.float32], threads: int) -> None:
        self.index.add([str(i) for i in range(len(data))], data, threads=threads)

    def search(self, queries: NDArray[np.float32], k: int, ef: int, threads: int) -> NDArray[np.int64]:
        self.index.expansion_search = ef
        ids, _ = self.index.search(queries, k=k, threads=threads)
        return np.array(ids, dtype=np.int64)


class RawUsearch:
    """usearch's own ``Index`` with integer keys: ours without the wrapper, to show what it costs."""

    def __init__(
        self, dim: int, *, dtype: str = "f16", metric: str = "cos", connectivity: int = 16, ef_add: int = 128
    ) -> None:
        from usearch.index import Index

        self.index = Index(
            ndim=dim, metric=metric, dtype=dtype, connectivity=connectivity, expansion_add=ef_add
        )
        self.name = f"usearch Index, raw ({dtype}, {metric}, M={connectivity})"

    def build(self, data: NDArray[np.float32], threads: int) -> None:
        self.index.add(np.arange(len(data), dtype=np.uint64), data, threads=threads)

    def search(self, queries: NDArray[np.float32], k: int, ef: int, threads: int) -> NDArray[np.int64]:
        self.index.expansion_search = ef
        return np.asarray(self.index.search(queries, k, threads=threads).keys, dtype=np.int64)


class Faiss:
    """faiss-cpu ``IndexHNSWFlat`` (float32 vectors), inner product on unit vectors."""

    def __init__(self, dim: int, *, connectivity: int = 16, ef_add: int = 128) -> None:
        import faiss  # the bench extra

        self.faiss = faiss
        self.index = faiss.IndexHNSWFlat(dim, connectivity, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = ef_add
        self.name = f"faiss IndexHNSWFlat (f32, M={connectivity})"

    def _threads(self, threads: int) -> None:
        self.faiss.omp_set_num_threads(threads or os.cpu_count() or 1)

    def build(self, data: NDArray[np.float32], threads: int) -> None:
        self._threads(threads)
        self.index.add(data)

    def search(self, queries: NDArray[np.float32], k: int, ef: int, threads: int) -> NDArray[np.int64]:
        self._threads(threads)
        self.index.hnsw.efSearch = ef
        _, labels = self.index.search(queries, k)
        return np.asarray(labels, dtype=np.int64)


class Hnswlib:
    """hnswlib (float32 vectors), cosine space."""

    def __init__(self, dim: int, *, connectivity: int = 16, ef_add: int = 128) -> None:
        import hnswlib  # the bench extra

        self.index: Any = hnswlib.Index(space="cosine", dim=dim)
        self.connectivity, self.ef_add = connectivity, ef_add
        self.name = f"hnswlib (f32, M={connectivity})"

    def build(self, data: NDArray[np.float32], threads: int) -> None:
        self.index.init_index(max_elements=len(data), M=self.connectivity, ef_construction=self.ef_add)
        self.index.add_items(data, np.arange(len(data)), num_threads=threads or -1)

    def search(self, queries: NDArray[np.float32], k: int, ef: int, threads: int) -> NDArray[np.int64]:
        self.index.set_ef(ef)
        labels, _ = self.index.knn_query(queries, k=k, num_threads=threads or -1)
        return np.asarray(labels, dtype=np.int64)


def recall_at(found: NDArray[np.int64], truth: NDArray[np.int64]) -> float:
    """Share of the true ``k`` nearest neighbours that were found, over all queries."""
    return float((found[:, :, None] == truth[:, None, :]).any(axis=2).mean())


@dataclass(frozen=True)
class Point:
    """An engine at its chosen breadth: ``ef``, its recall and queries/s (best and median of repeats)."""

    ef: int
    recall: float
    qps_best: float = 0.0
    qps_median: float = 0.0


def smallest_ef(
    recall_of: Callable[[int], float], target: float, *, start: int = 10, cap: int = 2048
) -> Point | None:
    """The smallest ``ef`` whose recall reaches ``target``: double from ``start``, then bisect.

    Recall grows with ``ef`` (up to noise of one query in thousands), so bisection finds the
    threshold to one unit. ``None`` when even ``cap`` falls short.
    """
    failing, ef = start - 1, start
    recall = recall_of(ef)
    while recall < target:
        if ef >= cap:
            return None
        failing, ef = ef, min(ef * 2, cap)
        recall = recall_of(ef)
    while ef - failing > 1:
        mid = (failing + ef) // 2
        r = recall_of(mid)
        if r >= target:
            ef, recall = mid, r
        else:
            failing = mid
    return Point(ef, recall)


def timed_build(engine: Engine, data: NDArray[np.float32], threads: int) -> float:
    start = time.perf_counter()
    engine.build(data, threads)
    return time.perf_counter() - start


def interleaved_qps(
    chosen: list[tuple[Engine, Point]], queries: NDArray[np.float32], threads: int, repeats: int
) -> list[Point]:
    """Queries/s of each engine at its chosen ``ef``, measured round-robin ``repeats`` times so that
    a burst of load from other work on the machine hits every engine alike; best and median."""
    times: list[list[float]] = [[] for _ in chosen]
    for _ in range(repeats):
        for slot, (engine, point) in enumerate(chosen):
            start = time.perf_counter()
            engine.search(queries, 10, point.ef, threads)
            times[slot].append(time.perf_counter() - start)
    return [
        Point(p.ef, p.recall, len(queries) / min(t), len(queries) / float(np.median(t)))
        for (_, p), t in zip(chosen, times, strict=True)
    ]
