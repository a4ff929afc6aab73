"""`Pool`: the unlabelled items a batch is picked from, with whatever is known about each of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from framescout.predictions import Predictions
from framescout.sampling.uncertainty import MATRIX_SCORERS, SCORERS, Aggregate

if TYPE_CHECKING:
    from framescout.selection.stability import Stability


class SelectionError(ValueError):
    """A selection that cannot be made as asked (a strategy missing the data it needs, a bad budget)."""


@dataclass
class Pool:
    """What a strategy may look at, for ``n`` unlabelled items (rows align across fields).

    - ``probs``: ``(n, C)`` class probabilities from a classifier;
    - ``predictions``: one detector `Predictions` per item (uncertainty is aggregated over boxes);
    - ``embeddings``: ``(n, D)`` feature vectors (diversity); a ``numpy.memmap`` works for large pools;
    - ``labeled_embeddings``: ``(m, D)`` features of what is already labelled (diversity starts from it);
    - ``stability``: one `Stability` per item: how its predicted boxes hold up under other views;
    - ``size``: the item count, for pools that carry none of the above (random selection).
    """

    probs: NDArray[np.float64] | None = None
    predictions: Sequence[Predictions] | None = None
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
        """Per-item uncertainty in [0, 1] by ``measure`` (least_confidence, margin, entropy)."""
        if measure not in MATRIX_SCORERS:
            raise SelectionError(
                f"unknown uncertainty measure {measure!r}; use one of {sorted(MATRIX_SCORERS)}"
            )
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

    def require_embeddings(self, strategy: str) -> NDArray[np.floating]:
        if self.embeddings is None:
            raise SelectionError(f"{strategy} needs embeddings for the pool")
        return self.embeddings
