"""`Pool`: the unlabelled items a batch is picked from, with whatever is known about each of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from framescout.predictions import Predictions
from framescout.sampling.uncertainty import MATRIX_SCORERS, SCORERS, Aggregate
from framescout.selection.aggregation import BoxAggregate, ImageErrors, pool_errors

BOX_MEASURES: dict[str, BoxAggregate] = {
    "errors_sum": "sum",
    "errors_mean": "mean",
    "errors_normalised": "normalised",
}
"""Box-aware measures of detector pools (`framescout.selection.aggregation`), by the name strategies
rank by: expected errors summed, per expected object, and normalised."""

if TYPE_CHECKING:
    from framescout.selection.stability import Stability


class SelectionError(ValueError):
    """A selection that cannot be made as asked (a strategy missing the data it needs, a bad budget)."""


@dataclass
class Pool:
    """What a strategy may look at, for ``n`` unlabelled items (rows align across fields).

    - ``probs``: ``(n, C)`` class probabilities from a classifier;
    - ``predictions``: one detector `Predictions` per item (uncertainty is aggregated over boxes);
    - ``class_weights``: per class name, how much its boxes' errors count (rare or weak classes of
      the labelled set more; `framescout.selection.aggregation.class_weights`); box measures only;
    - ``embeddings``: ``(n, D)`` feature vectors (diversity); a ``numpy.memmap`` works for large pools;
    - ``labeled_embeddings``: ``(m, D)`` features of what is already labelled (diversity starts from it);
    - ``stability``: one `Stability` per item: how its predicted boxes hold up under other views;
    - ``size``: the item count, for pools that carry none of the above (random selection).
    """

    probs: NDArray[np.float64] | None = None
    predictions: Sequence[Predictions] | None = None
    class_weights: Mapping[str, float] | None = None
    embeddings: NDArray[np.floating] | None = None
    labeled_embeddings: NDArray[np.floating] | None = None
    aggregate: Aggregate = "max"
    size: int | None = None
    stability: Sequence[Stability] | None = None

    def __post_init__(self) -> None:
        fields = (self.probs, self.predictions, self.embeddings, self.stability)
        sizes = {len(f) for f in fields if f is not None}
        if self.size is not None:
            sizes.add(self.size)
        if len(sizes) > 1:
            raise SelectionError(f"pool fields disagree on the number of items: {sorted(sizes)}")
        self._n = sizes.pop() if sizes else 0

    def __len__(self) -> int:
        return self._n

    def uncertainty(self, measure: str) -> NDArray[np.float64]:
        """Per-item uncertainty by ``measure``: least_confidence, margin, entropy in [0, 1], or one
        of `BOX_MEASURES` (expected errors; detector pools only)."""
        if measure in BOX_MEASURES:
            aggregate = BOX_MEASURES[measure]
            return np.fromiter((e.score(aggregate) for e in self.errors), np.float64, count=len(self))
        if measure not in MATRIX_SCORERS:
            known = sorted([*MATRIX_SCORERS, *BOX_MEASURES])
            raise SelectionError(f"unknown uncertainty measure {measure!r}; use one of {known}")
        if self.probs is not None:
            return MATRIX_SCORERS[measure](np.asarray(self.probs, dtype=np.float64))
        if self.predictions is not None:
            scorer = SCORERS[measure]
            return np.fromiter(
                (scorer(p, self.aggregate) for p in self.predictions),
                dtype=np.float64,
                count=len(self.predictions),
            )
        raise SelectionError(f"{measure} sampling needs model outputs (probs or predictions) for the pool")

    @cached_property
    def errors(self) -> list[ImageErrors]:
        """Expected errors per item (detector pools; computed once, on first use)."""
        if self.predictions is None:
            raise SelectionError("box-aware strategies need detector predictions for the pool")
        return pool_errors(self.predictions, self.stability, self.class_weights)

    def require_embeddings(self, strategy: str) -> NDArray[np.floating]:
        if self.embeddings is None:
            raise SelectionError(f"{strategy} needs embeddings for the pool")
        return self.embeddings
