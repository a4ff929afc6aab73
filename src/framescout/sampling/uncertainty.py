"""Uncertainty scores for ranking frames: least confidence, margin and entropy.

Every frame scorer (``*_score``) has one calling convention, ``score(predictions, aggregate="max",
empty=0.0) -> float``, and returns a value in [0, 1] where higher means the model is less sure.
Per-box scores (``*_per_box``) use the full class distribution when the model exposes
``class_probs``, otherwise the box confidence read as a two-way (object / not object) distribution.
``aggregate`` combines boxes with ``max`` (the most doubtful box decides) or ``mean``; a frame with no
boxes scores ``empty``. ``*_scores`` score each row of a probability matrix. The batch *strategies*
that rank a pool by these scores are the ``*_strategy`` of `framescout.selection.strategies`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from framescout.predictions import Predictions

Aggregate = Literal["max", "mean"]
Scorer = Callable[..., float]
_EPS = 1e-12


def _class_distribution(p: Predictions) -> NDArray[np.float64] | None:
    """Per-box class distributions normalised to sum to 1 (sigmoid heads do not sum to 1 by themselves)."""
    if p.class_probs is None or p.class_probs.shape[1] < 2:
        return None
    probs = np.clip(p.class_probs.astype(np.float64), 0.0, None)
    totals = probs.sum(axis=1, keepdims=True)
    out = np.full_like(probs, 1.0 / probs.shape[1])
    np.divide(probs, totals, out=out, where=totals > _EPS)
    return out


def least_confidence_scores(probs: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per row of an ``(N, C)`` probability matrix: 1 - the top probability."""
    return np.asarray(1.0 - probs.max(axis=1), dtype=np.float64)


def margin_scores(probs: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per row: 1 - (best - second best); near 1 when two answers are nearly tied."""
    if probs.shape[1] < 2:
        return np.zeros(probs.shape[0], dtype=np.float64)
    top2 = -np.partition(-probs, 1, axis=1)[:, :2]
    return np.asarray(1.0 - (top2[:, 0] - top2[:, 1]), dtype=np.float64)


def entropy_scores(probs: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per row: Shannon entropy divided by its maximum, log(C), so it stays in [0, 1]."""
    if probs.shape[1] < 2:
        return np.zeros(probs.shape[0], dtype=np.float64)
    h = -(probs * np.log(np.clip(probs, _EPS, 1.0))).sum(axis=1)
    return np.asarray(h / np.log(probs.shape[1]), dtype=np.float64)


def _binary(confidence: NDArray[np.float64]) -> NDArray[np.float64]:
    """Box confidences as two-way (object / not object) distributions."""
    return np.stack([confidence, 1.0 - confidence], axis=1)


def least_confidence_per_box(p: Predictions) -> NDArray[np.float64]:
    """1 - the probability of the predicted class."""
    dist = _class_distribution(p)
    if dist is None:
        return np.asarray(1.0 - p.confidence, dtype=np.float64)
    return least_confidence_scores(dist)


def margin_per_box(p: Predictions) -> NDArray[np.float64]:
    """1 - (best - second best) probability of each box."""
    dist = _class_distribution(p)
    return margin_scores(_binary(p.confidence) if dist is None else dist)


def entropy_per_box(p: Predictions) -> NDArray[np.float64]:
    """Normalised entropy of each box's class distribution (binary when there is none)."""
    dist = _class_distribution(p)
    return entropy_scores(_binary(p.confidence) if dist is None else dist)


def _aggregate(values: NDArray[np.float64], aggregate: Aggregate, empty: float) -> float:
    if values.size == 0:
        return float(empty)
    if aggregate == "max":
        return float(values.max())
    if aggregate == "mean":
        return float(values.mean())
    raise ValueError(f"aggregate must be 'max' or 'mean'; got {aggregate!r}")


def least_confidence_score(p: Predictions, aggregate: Aggregate = "max", empty: float = 0.0) -> float:
    """Frame score from :func:`least_confidence_per_box`."""
    return _aggregate(least_confidence_per_box(p), aggregate, empty)


def margin_score(p: Predictions, aggregate: Aggregate = "max", empty: float = 0.0) -> float:
    """Frame score from :func:`margin_per_box`."""
    return _aggregate(margin_per_box(p), aggregate, empty)


def entropy_score(p: Predictions, aggregate: Aggregate = "max", empty: float = 0.0) -> float:
    """Frame score from :func:`entropy_per_box`."""
    return _aggregate(entropy_per_box(p), aggregate, empty)


MATRIX_SCORERS: dict[str, Callable[[NDArray[np.float64]], NDArray[np.float64]]] = {
    "least_confidence": least_confidence_scores,
    "margin": margin_scores,
    "entropy": entropy_scores,
}
"""The same measures over an ``(N, C)`` probability matrix (classifier outputs, pool selection)."""

SCORERS: dict[str, Scorer] = {
    "least_confidence": least_confidence_score,
    "margin": margin_score,
    "entropy": entropy_score,
}

# The names `framescout.sampling` has always exported for the frame scores.
least_confidence, margin, entropy = least_confidence_score, margin_score, entropy_score
