"""`explain`: the scores that put each pick there, checked against brute force on real computations."""

from __future__ import annotations

from itertools import pairwise
from typing import cast

import numpy as np
import pytest

from framescout.selection import STRATEGIES, Pool, SelectionError, explain, select, select_explained
from framescout.selection.pool import BOX_MEASURES


def brute_force_at_pick(x: np.ndarray, order: np.ndarray, labeled: np.ndarray | None) -> list[float | None]:
    out: list[float | None] = []
    for k, i in enumerate(order):
        others = [x[j] for j in order[:k]] + ([] if labeled is None else list(labeled))
        out.append(None if not others else float(min(np.linalg.norm(x[i] - o) for o in others)))
    return out


@pytest.mark.parametrize("with_labelled", [False, True])
def test_kcenter_distances_are_what_farthest_first_maximised(with_labelled: bool) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 16)).astype(np.float32)
    labeled = rng.normal(size=(7, 16)).astype(np.float32) if with_labelled else None
    pool = Pool(embeddings=x, labeled_embeddings=labeled)
    picked = select(pool, 25, "kcenter", seed=1)
    details = explain(pool, picked, "kcenter")
    got = [d.distance_at_pick for d in details]
    want = brute_force_at_pick(x, picked, labeled)
    assert [g is None for g in got] == [w is None for w in want]
    assert np.allclose([g for g in got if g is not None], [w for w in want if w is not None], atol=1e-3)
    assert (got[0] is None) == (not with_labelled)  # a random start has no distance
    later = [g for g in got[1:] if g is not None]
    assert all(a >= b - 1e-4 for a, b in pairwise(later))  # farthest first: non-increasing
    if with_labelled:
        assert labeled is not None
        to_labelled = [min(np.linalg.norm(x[i] - row) for row in labeled) for i in picked]
        assert np.allclose(
            cast(list[float], [d.distance_to_labelled for d in details]), to_labelled, atol=1e-3
        )
        assert "from the labelled set and earlier picks" in details[0].reason
    else:
        assert details[0].reason == "first k-center pick (random start, nothing labelled)"
    assert [d.rank for d in details] == list(range(1, 26)) and [d.index for d in details] == list(picked)


def test_uncertainty_values_and_ranks() -> None:
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.ones(4), size=120)
    pool = Pool(probs=probs)
    result = select_explained(pool, 10, "margin", seed=0)
    assert np.array_equal(result.indices, select(pool, 10, "margin", seed=0))  # the convention is untouched
    margins = pool.uncertainty("margin")
    for d in result.details:
        assert d.uncertainty["margin"] == pytest.approx(margins[d.index])
        assert set(d.uncertainty) == {"least_confidence", "margin", "entropy"}
        assert d.measure == "margin" and d.distance_at_pick is None and d.boxes is None
    assert [d.uncertainty_rank for d in result.details] == list(range(1, 11))  # best first
    assert result.details[0].reason == f"margin {margins[result.indices[0]]:.3f} (#1 of 120)"


def test_every_strategy_can_be_explained() -> None:
    rng = np.random.default_rng(3)
    pool = Pool(probs=rng.dirichlet(np.ones(3), size=60), embeddings=rng.normal(size=(60, 8)))
    for name in STRATEGIES:
        if name == "class_balance" or STRATEGIES[name].ranks_by in BOX_MEASURES:
            continue  # needs detector predictions
        indices = STRATEGIES[name](pool, 6, np.random.default_rng(0))
        details = explain(pool, indices, name)
        assert len(details) == 6 and all(d.reason for d in details), name
        if name == "random":
            assert details[0].reason.startswith("random draw")


def test_indices_outside_the_pool_are_refused() -> None:
    pool = Pool(size=5)
    with pytest.raises(SelectionError, match=r"\[0, 5\)"):
        explain(pool, [7], "random")
