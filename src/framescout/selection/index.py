"""`VectorIndex`: a persistent nearest-neighbour index (usearch HNSW) keyed by string ids.

Add, remove, search, save and load; ids are mapped to integer keys kept in a JSON sidecar, and both
files are written atomically (temp + rename) so a crash never leaves a half-written index.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from usearch.index import Index

from framescout.selection.embedders import Metric

_DTYPES = {"hamming": "b1", "cos": "f16", "l2sq": "f16"}  # f16: half the memory, same neighbours
# Cosine is computed as the inner product of rows made unit length on the way in: the same neighbours
# and distances (1 - cos), without the two norms per distance of usearch's cosine kernel (+20% q/s on
# 100k x 512, docs/benchmarks.md).
_KERNELS = {"cos": "ip"}


class VectorIndex:
    """Approximate k-NN over vectors of one embedder. For ``hamming``, vectors are packed bits."""

    def __init__(
        self,
        dim: int,
        metric: Metric = "cos",
        *,
        dtype: str | None = None,
        connectivity: int = 16,
        expansion_add: int = 128,
        expansion_search: int = 80,
        kernel: str | None = None,
    ) -> None:
        """``kernel`` is usearch's metric that computes ``metric`` (default: inner product on unit
        rows for ``cos``; indexes saved before that kept usearch's cosine and load with it)."""
        self.dim, self.metric = dim, metric
        self.dtype = dtype or _DTYPES[metric]
        self._kernel = kernel or _KERNELS.get(metric, metric)
        self._settings = {
            "connectivity": connectivity,
            "expansion_add": expansion_add,
            "kernel": self._kernel,
        }
        self._index = Index(
            ndim=dim,
            metric=self._kernel,
            dtype=self.dtype,
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=expansion_search,
        )
        self._key_of: dict[str, int] = {}
        self._id_of: dict[int, str] = {}
        self._next = 0

    def __len__(self) -> int:
        return len(self._key_of)

    def __contains__(self, item: object) -> bool:
        return item in self._key_of

    @property
    def expansion_search(self) -> int:
        return int(self._index.expansion_search)

    @expansion_search.setter
    def expansion_search(self, value: int) -> None:
        """Search breadth: higher finds true neighbours more often, at some speed."""
        self._index.expansion_search = value  # type: ignore[misc]  # settable at run time; stubs say read-only

    def add(self, ids: Sequence[str], vectors: NDArray[Any], *, threads: int = 0) -> None:
        """Add (or replace) vectors under ``ids``, on ``threads`` cores (0 = all)."""
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        _check_threads(threads)
        replaced = [i for i in ids if i in self._key_of]
        if replaced:
            self.remove(replaced)
        keys = np.arange(self._next, self._next + len(ids), dtype=np.uint64)
        self._next += len(ids)
        self._index.add(keys, self._rows(vectors), threads=threads)
        for key, item in zip(keys.tolist(), ids, strict=True):
            self._key_of[item] = key
            self._id_of[key] = item

    def remove(self, ids: Iterable[str]) -> int:
        """Remove ``ids`` (unknown ids are ignored); returns how many were removed."""
        keys = [self._key_of.pop(i) for i in ids if i in self._key_of]
        for key in keys:
            del self._id_of[key]
        if keys:
            self._index.remove(np.asarray(keys, dtype=np.uint64))
        return len(keys)

    def search(
        self, queries: NDArray[Any], k: int = 10, *, threads: int = 0
    ) -> tuple[list[list[str]], NDArray[np.float32]]:
        """The ``k`` nearest ids and their distances for each query row (fewer when the index is small).

        A batch of queries is searched on ``threads`` cores (0 = all)."""
        _check_threads(threads)
        queries = self._rows(queries)
        if queries.ndim == 1:
            queries = queries[None]
        if not len(self):
            return [[] for _ in range(len(queries))], np.zeros((len(queries), 0), dtype=np.float32)
        matches = self._index.search(queries, min(k, len(self)), threads=threads)
        keys = np.atleast_2d(matches.keys)
        distances = np.atleast_2d(np.asarray(matches.distances, dtype=np.float32))
        counts = np.atleast_1d(np.asarray(getattr(matches, "counts", keys.shape[1])))
        id_of = self._id_of  # plain ints from tolist(): a dict lookup per hit, no NumPy scalar each
        ids = [
            [id_of[key] for key in row[:count]]
            for row, count in zip(keys.tolist(), counts.tolist(), strict=True)
        ]
        return ids, distances

    def _rows(self, vectors: NDArray[Any]) -> NDArray[Any]:
        """Contiguous rows; for cosine on the inner-product kernel, a unit-length float32 copy."""
        if self.metric != "cos" or self._kernel != "ip":
            return np.ascontiguousarray(vectors)
        rows = np.array(vectors, dtype=np.float32)
        norms = np.linalg.norm(rows, axis=-1, keepdims=True)
        np.divide(rows, norms, out=rows, where=norms > 0)
        return rows

    def save(self, path: str | Path) -> None:
        """Write ``path`` (the index) and ``path.ids.json`` (ids and settings), each atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        self._index.save(str(tmp))
        os.replace(tmp, path)
        meta = {
            "dim": self.dim,
            "metric": self.metric,
            "dtype": self.dtype,
            "next": self._next,
            "settings": self._settings,
            "expansion_search": self.expansion_search,
            "ids": self._key_of,
        }
        _write_atomic(path.with_name(path.name + ".ids.json"), json.dumps(meta))

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex:
        """Read an index written by :meth:`save`."""
        path = Path(path)
        try:
            meta = json.loads(path.with_name(path.name + ".ids.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read the id map of {path}: {exc}") from None
        index = cls(
            meta["dim"],
            meta["metric"],
            dtype=meta["dtype"],
            expansion_search=meta["expansion_search"],
            **{"kernel": meta["metric"], **meta["settings"]},  # saved before kernels: usearch's own
        )
        index._index.load(str(path))
        index._key_of = {str(k): int(v) for k, v in meta["ids"].items()}
        index._id_of = {v: k for k, v in index._key_of.items()}
        index._next = int(meta["next"])
        return index


def _check_threads(threads: int) -> None:
    if threads < 0:
        raise ValueError(f"threads must be >= 0 (0 = all cores), not {threads}")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
