"""Uncertainty scores: ranges, orderings, aggregation and the empty-frame value."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framescout import Predictions
from framescout.sampling import SCORERS, entropy, least_confidence, margin

if TYPE_CHECKING:
    from sampling.conftest import MakePreds


def test_binary_scores_from_confidence_alone(preds: MakePreds) -> None:
    p = preds([("a", 0.9), ("b", 0.5)])
    assert least_confidence(p) == pytest.approx(0.5)
    assert least_confidence(p, "mean") == pytest.approx(0.3)
    assert margin(p) == pytest.approx(1.0)  # 0.5 is a coin toss
    assert entropy(p) == pytest.approx(1.0)
    assert entropy(preds([("a", 0.9)])) == pytest.approx(-(0.9 * math.log2(0.9) + 0.1 * math.log2(0.1)))


def test_class_probabilities_drive_margin_and_entropy(preds: MakePreds) -> None:
    sure = preds([("a", 0.9)], probs=[[0.9, 0.05, 0.05]])
    torn = preds([("a", 0.45)], probs=[[0.45, 0.44, 0.01]])
    assert margin(torn) > 0.95 > margin(sure)
    assert entropy(torn) > entropy(sure)
    uniform = preds([("a", 0.3)], probs=[[0.3, 0.3, 0.3]])
    assert entropy(uniform) == pytest.approx(1.0)


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_empty_frames_score_the_empty_value(name: str) -> None:
    assert SCORERS[name](Predictions.empty()) == 0.0
    assert SCORERS[name](Predictions.empty(), "max", 0.75) == 0.75


def test_unknown_aggregate_is_rejected(preds: MakePreds) -> None:
    with pytest.raises(ValueError, match="aggregate"):
        margin(preds([("a", 0.5)]), "median")  # type: ignore[arg-type]


@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=20),
    st.lists(st.lists(st.floats(0, 1), min_size=3, max_size=3), min_size=20, max_size=20) | st.none(),
)
def test_scores_stay_within_unit_interval(confs: list[float], probs: list[list[float]] | None) -> None:
    n = len(confs)
    p = Predictions.from_arrays(
        np.zeros((n, 4)),
        confs,
        np.zeros(n),
        class_name=["a"] * n,
        class_probs=None if probs is None else probs[:n],
    )
    for scorer in SCORERS.values():
        for aggregate in ("max", "mean"):
            assert -1e-9 <= scorer(p, aggregate) <= 1 + 1e-9
