"""Benchmark: label efficiency of the selection strategies on scikit-learn's digits.

Protocol (PRODUCT.md): logistic regression; 500-image stratified test split; start with 20 random
labels, add 10 per round up to 300; 10 seeds. Target: the best built-in strategy reaches 90%
accuracy with <= 90 labels (random needs ~140) and >= 96.5% at 300 labels.

Peers: where modAL and/or scikit-activeml are importable, their equivalent margin strategy runs in
the same loop and is reported beside ours (accuracy and selection time). The embeddings used by the
diversity strategies are the raw pixel features.

    python benchmarks/label_efficiency.py [--seeds 10] [--plot docs/label_efficiency.png]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from framescout.selection import STRATEGIES, Pool, select

START, STEP, STOP, TEST = 20, 10, 300, 500
OURS = ["random", "least_confidence", "margin", "entropy", "kcenter", "margin_kcenter", "ranked_batch"]

Picker = Callable[[LogisticRegression, NDArray[np.float64], NDArray[np.float64], int, int], NDArray[np.intp]]


def ours(strategy: str) -> Picker:
    def pick(
        clf: LogisticRegression,
        pool_x: NDArray[np.float64],
        labeled_x: NDArray[np.float64],
        n: int,
        seed: int,
    ) -> NDArray[np.intp]:
        pool = Pool(probs=clf.predict_proba(pool_x), embeddings=pool_x, labeled_embeddings=labeled_x)
        return select(pool, n, strategy, seed=seed)

    return pick


def peer_pickers() -> dict[str, Picker]:
    """modAL / scikit-activeml margin sampling, when installed."""
    found: dict[str, Picker] = {}
    try:
        from modAL.uncertainty import margin_sampling  # type: ignore[import-not-found]

        def modal_margin(clf, pool_x, labeled_x, n, seed):  # type: ignore[no-untyped-def]
            indices, _ = margin_sampling(clf, pool_x, n_instances=n)
            return np.asarray(indices, dtype=np.intp)

        found["modAL margin"] = modal_margin
    except ImportError:
        pass
    try:
        from skactiveml.pool import uncertainty_scores  # type: ignore[import-not-found]

        def skactiveml_margin(clf, pool_x, labeled_x, n, seed):  # type: ignore[no-untyped-def]
            utilities = uncertainty_scores(clf.predict_proba(pool_x), method="margin_sampling")
            return np.argsort(-utilities, kind="stable")[:n].astype(np.intp)

        found["scikit-activeml margin"] = skactiveml_margin
    except ImportError:
        pass
    return found


def run(picker: Picker, seed: int) -> tuple[dict[int, float], float]:
    """One active-learning run; returns accuracy per label count and total selection seconds."""
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    pool_x, test_x, pool_y, test_y = train_test_split(x, y, test_size=TEST, random_state=seed, stratify=y)
    rng = np.random.default_rng(seed)
    labeled = np.zeros(len(pool_x), dtype=bool)
    labeled[rng.choice(len(pool_x), START, replace=False)] = True
    curve: dict[int, float] = {}
    spent = 0.0
    while True:
        clf = LogisticRegression(max_iter=2000)
        clf.fit(pool_x[labeled], pool_y[labeled])
        curve[int(labeled.sum())] = float(clf.score(test_x, test_y))
        if labeled.sum() >= STOP:
            return curve, spent
        candidates = np.flatnonzero(~labeled)
        start = time.perf_counter()
        picked = picker(clf, pool_x[candidates], pool_x[labeled], STEP, seed)
        spent += time.perf_counter() - start
        labeled[candidates[picked]] = True


def first_reaching(curve: dict[int, float], level: float) -> int | None:
    return next((n for n in sorted(curve) if curve[n] >= level), None)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--plot", help="write the accuracy curves to this PNG (needs matplotlib)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    pickers: dict[str, Picker] = {name: ours(name) for name in OURS if name in STRATEGIES}
    peers = peer_pickers()
    pickers.update(peers)
    curves: dict[str, dict[int, float]] = {}
    print(f"digits, logistic regression, {START} + {STEP}/round to {STOP}, {args.seeds} seeds, test {TEST}")
    print(f"{'strategy':<24} {'90% at':>7} {'acc@90':>7} {'acc@140':>8} {'acc@300':>8} {'select s/run':>12}")
    for name, picker in pickers.items():
        runs = [run(picker, seed) for seed in range(args.seeds)]
        labels = sorted(runs[0][0])
        mean = {n: float(np.mean([r[0][n] for r in runs])) for n in labels}
        curves[name] = mean
        at90 = first_reaching(mean, 0.90)
        seconds = float(np.mean([r[1] for r in runs]))
        print(
            f"{name:<24} {at90 or '-':>7} {mean[90]:7.3f} {mean[140]:8.3f} {mean[300]:8.4f} {seconds:12.3f}"
        )
    best = max((n for n in curves if n in OURS and n != "random"), key=lambda n: curves[n][300])
    at90 = first_reaching(curves[best], 0.90)
    print(
        f"best built-in: {best}: 90% at {at90} labels (target <= 90), "
        f"{curves[best][300]:.4f} at 300 (target >= 0.965)"
    )
    print(f"random: 90% at {first_reaching(curves['random'], 0.90)} labels")
    if not peers:
        print("peers: modAL / scikit-activeml not installed; pip install -e '.[bench]' to compare")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 5))
        for name, curve in curves.items():
            ax.plot(list(curve), list(curve.values()), label=name, lw=2.2 if name == best else 1.2)
        ax.axhline(0.90, color="grey", ls=":", lw=1)
        ax.axvline(90, color="grey", ls=":", lw=1)
        ax.set(
            xlabel="labelled images",
            ylabel="test accuracy",
            title="digits: accuracy vs labels (mean of seeds)",
        )
        ax.set_ylim(0.6, 1.0)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
