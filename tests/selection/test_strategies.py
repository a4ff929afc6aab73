"""Selection strategies: valid picks, the right picks, memory-bounded k-center, and that the
uncertainty strategies really beat random on real data (scikit-learn's digits)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from framescout import Predictions
from framescout.selection import STRATEGIES, Pool, SelectionError, kcenter_greedy, select
from framescout.selection.pool import BOX_MEASURES


def clustered(n_clusters: int = 5, per: int = 40, dim: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 20, (n_clusters, dim))
    return np.concatenate([c + rng.normal(0, 0.5, (per, dim)) for c in centres]).astype(np.float32)


def full_pool(n: int = 200, seed: int = 0) -> Pool:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(4), n)
    preds = [
        Predictions.from_arrays(
            np.zeros((2, 4)), rng.uniform(0.2, 1.0, 2), [0, 1], class_name=[f"c{i % 7}", "x"]
        )
        for i in range(n)
    ]
    return Pool(probs=probs, predictions=preds, embeddings=clustered(5, n // 5))


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_returns_unique_valid_indices(name: str) -> None:
    pool = full_pool()
    picked = select(pool, 25, name, seed=3)
    assert len(picked) == 25 and len(set(picked.tolist())) == 25
    assert picked.min() >= 0 and picked.max() < len(pool)
    assert len(select(pool, 10_000, name)) == len(pool)  # budget larger than the pool: everything
    assert len(select(pool, 0, name)) == 0


def test_uncertainty_strategies_pick_the_most_uncertain() -> None:
    probs = np.array([[0.98, 0.01, 0.01], [0.5, 0.49, 0.01], [0.34, 0.33, 0.33], [0.7, 0.2, 0.1]])
    pool = Pool(probs=probs)
    assert select(pool, 1, "margin").tolist() == [1] or select(pool, 1, "margin").tolist() == [2]
    assert select(pool, 1, "entropy").tolist() == [2]
    assert select(pool, 1, "least_confidence").tolist() == [2]
    assert select(pool, 4, "margin").tolist()[-1] == 0  # the confident one comes last


def test_detector_pools_rank_by_aggregated_box_uncertainty() -> None:
    sure = Predictions.from_arrays([[0, 0, 1, 1]], [0.97], [0], class_name=["a"])
    unsure = Predictions.from_arrays(
        [[0, 0, 1, 1], [0, 0, 2, 2]], [0.95, 0.51], [0, 0], class_name=["a", "a"]
    )
    assert select(Pool(predictions=[sure, unsure]), 1, "margin").tolist() == [1]


def test_kcenter_covers_every_cluster_first() -> None:
    x = clustered(6, 30)
    picked = kcenter_greedy(x, 6, rng=np.random.default_rng(1))
    assert sorted({int(i) // 30 for i in picked}) == list(range(6))
    # starting from labelled points of clusters 0-3, the next picks go to clusters 4 and 5
    labeled = x[[0, 30, 60, 90]]
    assert sorted(int(i) // 30 for i in kcenter_greedy(x, 2, labeled=labeled)) == [4, 5]


def test_kcenter_in_chunks_on_a_memory_map_matches_in_memory(tmp_path: Path) -> None:
    x = np.random.default_rng(2).normal(size=(3000, 16)).astype(np.float32)
    path = tmp_path / "emb.f32"
    x.tofile(path)
    mapped = np.memmap(path, dtype=np.float32, mode="r", shape=x.shape)
    a = kcenter_greedy(x, 40, rng=np.random.default_rng(5))
    b = kcenter_greedy(mapped, 40, rng=np.random.default_rng(5), chunk=257)
    assert a.tolist() == b.tolist()


def test_class_balance_spreads_over_classes() -> None:
    names = ["car"] * 8 + ["bike", "dog"]
    preds = [Predictions.from_arrays([[0, 0, 1, 1]], [0.5], [0], class_name=[n]) for n in names]
    picked = select(Pool(predictions=preds), 3, "class_balance")
    assert sorted(names[i] for i in picked) == ["bike", "car", "dog"]


def test_missing_inputs_and_bad_arguments_are_clear() -> None:
    with pytest.raises(SelectionError, match="needs embeddings"):
        select(Pool(probs=np.ones((3, 2)) / 2), 1, "kcenter")
    with pytest.raises(SelectionError, match="needs model outputs"):
        select(Pool(embeddings=np.zeros((3, 2))), 1, "margin")
    with pytest.raises(SelectionError, match="unknown strategy"):
        select(Pool(probs=np.ones((3, 2)) / 2), 1, "magic")
    with pytest.raises(SelectionError, match="budget"):
        select(Pool(probs=np.ones((3, 2)) / 2), -1)
    with pytest.raises(SelectionError, match="class balance needs"):
        select(Pool(probs=np.ones((3, 2)) / 2), 1, "class_balance")


def test_margin_beats_random_on_digits() -> None:
    """A short version of benchmarks/label_efficiency.py: 3 seeds, 20 + 10 per round to 90 labels."""
    sklearn = pytest.importorskip("sklearn", reason="scikit-learn is in the dev extra")
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    del sklearn
    x, y = load_digits(return_X_y=True)
    x = x / 16.0

    def accuracy_at_90(strategy: str, seed: int) -> float:
        px, tx, py, ty = train_test_split(x, y, test_size=500, random_state=seed, stratify=y)
        labeled = np.zeros(len(px), dtype=bool)
        labeled[np.random.default_rng(seed).choice(len(px), 20, replace=False)] = True
        while True:
            clf = LogisticRegression(max_iter=2000).fit(px[labeled], py[labeled])
            if labeled.sum() >= 90:
                return float(clf.score(tx, ty))
            candidates = np.flatnonzero(~labeled)
            pool = Pool(probs=clf.predict_proba(px[candidates]), embeddings=px[candidates])
            labeled[candidates[select(pool, 10, strategy, seed=seed)]] = True

    margin = np.mean([accuracy_at_90("margin", s) for s in range(3)])
    random = np.mean([accuracy_at_90("random", s) for s in range(3)])
    assert margin >= 0.90
    assert margin > random + 0.02


def test_pool_size_must_agree_and_can_stand_alone() -> None:
    assert len(select(Pool(size=7), 3, "random")) == 3
    with pytest.raises(SelectionError, match="disagree"):
        Pool(probs=np.ones((3, 2)) / 2, embeddings=np.zeros((4, 2)))


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_each_strategy_needs_exactly_what_the_registry_says(name: str) -> None:
    """The CLI asks `STRATEGIES[name]` what to compute; the declarations must match the strategies."""
    full = full_pool()
    declared = STRATEGIES[name]
    without_model = Pool(embeddings=full.embeddings)
    without_embeddings = Pool(predictions=full.predictions)
    for pool, missing in (
        (without_model, declared.needs_model),
        (without_embeddings, declared.needs_embeddings),
    ):
        if missing:
            with pytest.raises(SelectionError):
                select(pool, 5, name)
        else:
            assert len(select(pool, 5, name)) == 5
    assert declared.ranks_by in (None, "least_confidence", "margin", "entropy", *BOX_MEASURES)
