"""Batch selection strategies. One calling convention, like modAL's query strategies:

    strategy(pool, budget, rng) -> indices into the pool (best first)

Uncertainty strategies rank by a per-item score (`Pool.uncertainty`); diversity strategies cover the
embedding space; hybrids trade one for the other. `STRATEGIES` is the one registry: each entry is a
`RegisteredStrategy` that says what the strategy needs from the pool (model outputs, embeddings), so
the CLI and `explain` ask it instead of keeping lists of names. Functions here end in ``_strategy``
(a batch pick); the per-frame scores of the same names live in `framescout.sampling.uncertainty`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from framescout.selection.kcenter import kcenter_greedy
from framescout.selection.pool import Pool, SelectionError

Strategy = Callable[[Pool, int, np.random.Generator], NDArray[np.intp]]


@dataclass(frozen=True)
class RegisteredStrategy:
    """A strategy as registered in `STRATEGIES`: called like a `Strategy`, and saying what it needs.

    ``ranks_by`` is the uncertainty measure it ranks (or shortlists) by, ``None`` when it ranks by no
    model output; ``needs_embeddings`` when it measures distances between items."""

    pick: Strategy
    ranks_by: str | None = None
    needs_embeddings: bool = False

    def __call__(self, pool: Pool, budget: int, rng: np.random.Generator) -> NDArray[np.intp]:
        return self.pick(pool, budget, rng)

    @property
    def needs_model(self) -> bool:
        """Whether the pool must carry model outputs (probabilities or detector predictions)."""
        return self.ranks_by is not None


def _top(scores: NDArray[np.float64], budget: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """Indices of the ``budget`` highest scores; ties broken at random so order bias cannot creep in."""
    budget = min(budget, len(scores))
    jitter = rng.random(len(scores)) * 1e-9
    order = np.argsort(-(scores + jitter), kind="stable")
    return order[:budget].astype(np.intp)


def random_strategy(pool: Pool, budget: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """The baseline every strategy must beat."""
    return rng.permutation(len(pool))[: min(budget, len(pool))].astype(np.intp)


def least_confidence_strategy(pool: Pool, budget: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """Items whose top prediction is least probable."""
    return _top(pool.uncertainty("least_confidence"), budget, rng)


def margin_strategy(pool: Pool, budget: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """Items whose two best answers are closest."""
    return _top(pool.uncertainty("margin"), budget, rng)


def entropy_strategy(pool: Pool, budget: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """Items with the most spread-out class distribution."""
    return _top(pool.uncertainty("entropy"), budget, rng)


def errors_sum_strategy(pool: Pool, budget: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """Items with the most expected errors (false positives + misses; `selection.aggregation`)."""
    return _top(pool.uncertainty("errors_sum"), budget, rng)


def errors_mean_strategy(pool: Pool, budget: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """Items with the most expected errors per expected object (the best yield per labelled box)."""
    return _top(pool.uncertainty("errors_mean"), budget, rng)


def errors_normalised_strategy(pool: Pool, budget: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """Items with the most expected errors per (expected objects + a prior of a few boxes): many
    mistakes per image *and* per box; the default with a detector (docs/selection.md says why)."""
    return _top(pool.uncertainty("errors_normalised"), budget, rng)


def kcenter_strategy(pool: Pool, budget: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """Core-set: cover the embedding space, starting from what is labelled."""
    return kcenter_greedy(
        pool.require_embeddings("k-center"), budget, labeled=pool.labeled_embeddings, rng=rng
    )


def margin_kcenter_strategy(
    pool: Pool, budget: int, rng: np.random.Generator, factor: int = 2
) -> NDArray[np.intp]:
    """Top ``factor x budget`` items by margin, then k-center among them: uncertain *and* diverse,
    so a batch does not spend its budget on near-copies of the same hard case. A small factor keeps
    the uncertainty signal (at 5x on a small pool the shortlist is the whole pool: plain k-center)."""
    embeddings = pool.require_embeddings("margin + k-center")
    shortlist = _top(pool.uncertainty("margin"), budget * factor, rng)
    picked = kcenter_greedy(
        np.asarray(embeddings[np.sort(shortlist)]), budget, labeled=pool.labeled_embeddings, rng=rng
    )
    return np.sort(shortlist)[picked].astype(np.intp)


def ranked_batch_strategy(pool: Pool, budget: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """Ranked batch-mode sampling (Cardoso et al., 2017): score = a * dissimilarity + (1 - a) * margin,
    a = unlabelled / (unlabelled + labelled), recomputed after each pick."""
    embeddings = np.asarray(pool.require_embeddings("ranked batch"), dtype=np.float32)
    uncertainty = pool.uncertainty("margin")
    n = len(embeddings)
    budget = min(budget, n)
    norms = np.einsum("ij,ij->i", embeddings, embeddings)

    def dist_to(center: NDArray[np.float32]) -> NDArray[np.float32]:
        d2 = norms - 2.0 * (embeddings @ center) + float(center @ center)
        return np.asarray(np.sqrt(np.maximum(d2, 0.0)), dtype=np.float32)

    labeled = pool.labeled_embeddings
    if labeled is not None and len(labeled):
        nearest = np.full(n, np.inf, dtype=np.float32)
        for row in np.asarray(labeled, dtype=np.float32):
            np.minimum(nearest, dist_to(row), out=nearest)
        n_labeled = len(labeled)
    else:
        nearest = np.full(n, np.float32(np.finfo(np.float32).max))
        n_labeled = 0
    chosen: list[int] = []
    taken = np.zeros(n, dtype=bool)
    for _ in range(budget):
        alpha = (n - len(chosen)) / (n + n_labeled)
        score = alpha * (1.0 - 1.0 / (1.0 + nearest)) + (1.0 - alpha) * uncertainty
        score[taken] = -np.inf
        pick = int(np.argmax(score))
        chosen.append(pick)
        taken[pick] = True
        np.minimum(nearest, dist_to(embeddings[pick]), out=nearest)
    return np.asarray(chosen, dtype=np.intp)


def class_balance_strategy(pool: Pool, budget: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """Greedy picks that even out predicted class counts in the batch: each pick is the item whose
    predicted classes are rarest so far (ties: most uncertain first). Needs detector predictions."""
    if pool.predictions is None:
        raise SelectionError("class balance needs detector predictions for the pool")
    counts: Counter[str] = Counter()
    uncertainty = pool.uncertainty("least_confidence")
    names = [set(p.class_name) for p in pool.predictions]
    available = np.ones(len(names), dtype=bool)
    chosen: list[int] = []
    for _ in range(min(budget, len(names))):
        best, best_key = -1, (-np.inf, -np.inf)
        for i in np.flatnonzero(available):
            rarity = max((1.0 / (1 + counts[c]) for c in names[i]), default=0.0)
            key = (rarity, float(uncertainty[i]))
            if key > best_key:
                best, best_key = int(i), key
        chosen.append(best)
        available[best] = False
        counts.update(names[best])
    return np.asarray(chosen, dtype=np.intp)


STRATEGIES: dict[str, RegisteredStrategy] = {
    "random": RegisteredStrategy(random_strategy),
    "least_confidence": RegisteredStrategy(least_confidence_strategy, ranks_by="least_confidence"),
    "margin": RegisteredStrategy(margin_strategy, ranks_by="margin"),
    "entropy": RegisteredStrategy(entropy_strategy, ranks_by="entropy"),
    "errors_sum": RegisteredStrategy(errors_sum_strategy, ranks_by="errors_sum"),
    "errors_mean": RegisteredStrategy(errors_mean_strategy, ranks_by="errors_mean"),
    "errors_normalised": RegisteredStrategy(errors_normalised_strategy, ranks_by="errors_normalised"),
    "kcenter": RegisteredStrategy(kcenter_strategy, needs_embeddings=True),
    "margin_kcenter": RegisteredStrategy(margin_kcenter_strategy, ranks_by="margin", needs_embeddings=True),
    "ranked_batch": RegisteredStrategy(ranked_batch_strategy, ranks_by="margin", needs_embeddings=True),
    "class_balance": RegisteredStrategy(class_balance_strategy, ranks_by="least_confidence"),
}
"""Every strategy by the name users type (``--strategy``, the JSON report's ``strategy``)."""


def select(pool: Pool, budget: int, strategy: str = "margin", seed: int | None = 0) -> NDArray[np.intp]:
    """Pick ``budget`` items of ``pool`` with the named strategy; see `STRATEGIES`."""
    if budget < 0:
        raise SelectionError(f"budget must be >= 0; got {budget}")
    try:
        chosen = STRATEGIES[strategy]
    except KeyError:
        raise SelectionError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}") from None
    return chosen(pool, budget, np.random.default_rng(seed))
