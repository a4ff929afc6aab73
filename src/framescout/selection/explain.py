"""Why each image was picked: the scores a pick had when its strategy chose it.

Strategies keep their calling convention (``strategy(pool, budget, rng) -> indices``); `explain`
scores a pick afterwards from the same pool: the uncertainty values (and the rank of the one the
strategy ranks by), the distance to the labelled set, and the k-center distance at pick time (to the
nearest labelled item *or earlier pick*: what farthest-first traversal maximises). `select_explained`
runs a strategy and explains it in one call."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from framescout.selection.kcenter import min_distances
from framescout.selection.pool import BOX_MEASURES, Pool, SelectionError
from framescout.selection.strategies import STRATEGIES, select

MEASURES = ("least_confidence", "margin", "entropy")
_BLOCK = 1024


@dataclass(frozen=True)
class PickDetail:
    """One picked item and the scores that put it there (``None``: the pool has no such data)."""

    rank: int
    """1 = picked first."""
    index: int
    """Index into the pool."""
    uncertainty: dict[str, float] = field(default_factory=dict)
    """least_confidence, margin, entropy in [0, 1] (higher = more uncertain), with model outputs."""
    measure: str | None = None
    """The measure the strategy ranks by (its ``ranks_by`` in `STRATEGIES`)."""
    uncertainty_rank: int | None = None
    """Rank of the item in the whole pool by ``measure`` (1 = most uncertain)."""
    distance_at_pick: float | None = None
    """L2 distance to the nearest labelled item or earlier pick when it was picked (k-center's
    score); ``None`` for a first pick with nothing labelled (k-center starts at random)."""
    distance_to_labelled: float | None = None
    """L2 distance to the nearest labelled item, when the pool knows labelled embeddings."""
    boxes: int | None = None
    classes: dict[str, int] = field(default_factory=dict)
    """Predicted boxes per class (detector pools)."""
    components: dict[str, float] = field(default_factory=dict)
    """The box-aware score's parts (detector pools): ``score`` under the strategy's aggregation,
    ``expected_errors`` = ``expected_false_positives`` + ``expected_misses``, ``expected_objects``,
    ``reported_boxes`` (the box budget's cost), ``class_weight``, and with views ``stability`` and
    ``only_in_other_views`` (`framescout.selection.aggregation.ImageErrors.components`)."""
    doubtful: list[tuple[str, float, float]] = field(default_factory=list)
    """Up to three boxes adding the most expected error: (class, confidence, chance of error)."""
    reason: str = ""
    """One line: what put the item there."""


@dataclass(frozen=True)
class Selection:
    """A strategy's pick with its explanation: ``indices`` as `select` returns them."""

    strategy: str
    indices: NDArray[np.intp]
    details: list[PickDetail]


def select_explained(pool: Pool, budget: int, strategy: str = "margin", seed: int | None = 0) -> Selection:
    """`select`, then `explain`."""
    indices = select(pool, budget, strategy, seed=seed)
    return Selection(strategy, indices, explain(pool, indices, strategy))


def explain(pool: Pool, picked: Sequence[int] | NDArray[np.intp], strategy: str) -> list[PickDetail]:
    """Per pick, in pick order: the scores it had when ``strategy`` chose it (see `PickDetail`)."""
    order = np.asarray(picked, dtype=np.intp)
    n = len(pool)
    if len(order) and (order.min() < 0 or order.max() >= n):
        raise SelectionError(f"picked indices must lie in [0, {n})")
    scores = _uncertainties(pool)
    declared = STRATEGIES.get(strategy)
    measure = declared.ranks_by if scores and declared else None
    ranked = pool.uncertainty(measure) if measure in BOX_MEASURES else scores.get(measure or "")
    ranks = None if ranked is None else _ranks(ranked)
    aggregate = BOX_MEASURES.get(measure or "", "normalised")
    at_pick, to_labelled = _distances(pool, order)
    details = []
    for k, index in enumerate(map(int, order)):
        unc = {m: float(v[index]) for m, v in scores.items()}
        counts: Counter[str] = Counter()
        boxes = None
        components: dict[str, float] = {}
        doubtful: list[tuple[str, float, float]] = []
        if pool.predictions is not None:
            counts.update(pool.predictions[index].class_name)
            boxes = len(pool.predictions[index])
            errors = pool.errors[index]
            components, doubtful = errors.components(aggregate), list(errors.doubtful)
        if ranked is not None and measure is not None:
            unc = {**unc, measure: float(ranked[index])} if measure in BOX_MEASURES else unc
        detail = PickDetail(
            rank=k + 1,
            index=index,
            uncertainty=unc,
            measure=measure,
            uncertainty_rank=None if ranks is None else int(ranks[index]),
            distance_at_pick=None if at_pick is None or np.isnan(at_pick[k]) else float(at_pick[k]),
            distance_to_labelled=None if to_labelled is None else float(to_labelled[k]),
            boxes=boxes,
            classes=dict(counts.most_common()),
            components=components,
            doubtful=doubtful,
        )
        details.append(_with_reason(detail, strategy, n))
    return details


def _uncertainties(pool: Pool) -> dict[str, NDArray[np.float64]]:
    if pool.probs is None and pool.predictions is None:
        return {}
    return {m: pool.uncertainty(m) for m in MEASURES}


def _ranks(scores: NDArray[np.float64]) -> NDArray[np.intp]:
    """1 + how many items score strictly higher (ties share a rank)."""
    ordered = np.sort(scores)
    higher = len(scores) - np.searchsorted(ordered, scores, side="right")
    return (higher + 1).astype(np.intp)


def _distances(
    pool: Pool, order: NDArray[np.intp]
) -> tuple[NDArray[np.float64] | None, NDArray[np.float64] | None]:
    """k-center distance at pick time and distance to the labelled set, per pick (L2), in blocks of
    picks so a large budget never needs a budget x budget matrix."""
    if pool.embeddings is None or not len(order):
        return None, None
    chosen = np.asarray(pool.embeddings[np.sort(order)], dtype=np.float32)[np.argsort(np.argsort(order))]
    norms = np.einsum("ij,ij->i", chosen, chosen)
    labeled = pool.labeled_embeddings
    to_labelled = None
    best = np.full(len(order), np.inf, dtype=np.float64)
    if labeled is not None and len(labeled):
        to_labelled = np.sqrt(min_distances(chosen, norms, labeled).astype(np.float64))
        best = to_labelled.copy()
    for start in range(1, len(order), _BLOCK):
        rows = chosen[start : start + _BLOCK]
        earlier = chosen[: start + len(rows)]
        d2 = norms[start : start + len(rows), None] - 2.0 * (rows @ earlier.T) + norms[None, : len(earlier)]
        later = np.arange(len(earlier))[None, :] >= np.arange(start, start + len(rows))[:, None]
        d2 = np.where(later, np.inf, np.maximum(d2, 0.0))
        np.minimum(
            best[start : start + len(rows)], np.sqrt(d2.min(axis=1)), out=best[start : start + len(rows)]
        )
    at_pick = np.where(np.isinf(best), np.nan, best)
    return at_pick, to_labelled


def _box_reason(d: PickDetail) -> str:
    """E.g. ``3.1 expected errors (1.2 false positives, 1.9 misses) in 4.0 expected objects``."""
    c = d.components
    text = (
        f"{c['expected_errors']:.1f} expected errors ({c['expected_false_positives']:.1f} false positives, "
        f"{c['expected_misses']:.1f} misses) in {c['expected_objects']:.1f} expected objects"
    )
    if c.get("class_weight", 1.0) != 1.0:
        text += f", class weight {c['class_weight']:.2f}"
    if "stability" in c:
        text += f", disagreement across views {c['stability']:.2f}"
    if d.doubtful:
        name, confidence, chance = d.doubtful[0]
        text += f"; most doubtful: {name} {confidence:.2f} ({chance:.0%} error)"
    return text


def _with_reason(d: PickDetail, strategy: str, n: int) -> PickDetail:
    parts = []
    if strategy == "random":
        parts.append("random draw")
    if d.measure and strategy != "random":
        parts.append(f"{d.measure} {d.uncertainty[d.measure]:.3f} (#{d.uncertainty_rank} of {n})")
    if d.measure in BOX_MEASURES and d.components:
        parts.append(_box_reason(d))
    declared = STRATEGIES.get(strategy)
    if declared and declared.needs_embeddings:
        if d.distance_at_pick is None:
            parts.append("first k-center pick (random start, nothing labelled)")
        else:
            parts.append(f"{d.distance_at_pick:.3f} from the labelled set and earlier picks")
    if strategy == "class_balance" and d.classes:
        parts.append("classes " + ", ".join(f"{c} x{k}" for c, k in list(d.classes.items())[:4]))
    return PickDetail(**{**d.__dict__, "reason": "; ".join(parts)})
