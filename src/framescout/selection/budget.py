"""Box budgets: labelling cost is per box, so pick until the expected boxes to label reach N.

Expected boxes of an image = its predicted boxes at or above `aggregation.REPORTED` (0.35): what a
labeller reviews or corrects. Any strategy ranks the pool; the pick is the shortest prefix of its
ranking whose expected boxes reach the budget (the last image may pass it), capped at ``max_images``
when given. Strategies keep their convention: the ranking is asked for a growing number of images
(doubling) until the box budget is reached, so a small budget never ranks a whole 100k pool with
k-center."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from framescout.selection.pool import Pool, SelectionError
from framescout.selection.strategies import select


def expected_boxes(pool: Pool) -> NDArray[np.int64]:
    """Per item: predicted boxes at or above `REPORTED` (a detector pool's cost to label)."""
    if pool.predictions is None:
        raise SelectionError("a box budget needs detector predictions for the pool (give --model)")
    return np.fromiter((e.reported for e in pool.errors), dtype=np.int64, count=len(pool))


def select_boxes(
    pool: Pool,
    budget_boxes: int,
    strategy: str,
    seed: int | None = 0,
    max_images: int | None = None,
) -> NDArray[np.intp]:
    """Pick with ``strategy`` until the expected boxes reach ``budget_boxes`` (see the module doc)."""
    if budget_boxes < 1:
        raise SelectionError(f"the box budget must be >= 1; got {budget_boxes}")
    if max_images is not None and max_images < 1:
        raise SelectionError(f"the image budget must be >= 1; got {max_images}")
    cost = expected_boxes(pool)
    n = len(pool) if max_images is None else min(len(pool), max_images)
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    per_image = max(float(cost.mean()), 1.0)
    ask = min(n, max(1, int(np.ceil(budget_boxes / per_image))))
    while True:
        ranked = select(pool, ask, strategy, seed=seed)
        reached = np.flatnonzero(np.cumsum(cost[ranked]) >= budget_boxes)
        if len(reached):
            return ranked[: int(reached[0]) + 1]
        if ask >= n:
            return ranked
        ask = min(n, ask * 2)
