"""Benchmarks: perceptual-hash throughput, vector-index speed and recall, k-center selection speed.

Targets (PRODUCT.md): perceptual-hash novelty check >= 1,000 images/s per core excluding decode;
vector index at 100k x 512: >= 10k queries/s at recall@10 >= 0.99.

Peers measured in the same run: plain ``imagehash.phash`` on the full decoded image; exact
brute-force search (NumPy matrix products) for the index.

Index data: there is no 100k-image corpus on this machine, so vectors are synthetic and the script
says which. "embedding-like" has the structure of real image embeddings (1,000 clusters, variance
concentrated in leading directions, unit norm); "hard" has 2,000 clusters whose within-cluster
noise outweighs their separation in every direction, a tougher case reported for honesty. (Uniform
random vectors are not used: in 512 dimensions all their distances are nearly equal, so "nearest"
means nothing.)

    python benchmarks/selection_speed.py [--n 100000] [--dim 512] [--queries 2000] [--skip-kcenter]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import imagehash
import numpy as np
from _ann_peers import (
    Engine,
    Faiss,
    Hnswlib,
    Ours,
    Point,
    RawUsearch,
    interleaved_qps,
    recall_at,
    smallest_ef,
    timed_build,
)
from numpy.typing import NDArray

from framescout.imaging import read_image_file, to_bgr
from framescout.selection import PerceptualHash, kcenter_greedy
from framescout.selection.kcenter import min_distances

COCO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "coco-tiny"


def phash_speed() -> None:
    files = sorted(COCO.glob("*2017/*.jpg"))
    if not files:
        print(f"phash: skipped, {COCO} not found (the ../shared data folder)")
        return
    decoded = [read_image_file(f) for f in files]  # decode excluded from the timing
    arrays = [to_bgr(im) for im in decoded]
    hasher = PerceptualHash()
    hasher.embed(arrays[:5])
    start = time.perf_counter()
    for a in arrays:
        hasher.hash_one(a)
    ours = len(arrays) / (time.perf_counter() - start)
    start = time.perf_counter()
    for im in decoded:
        imagehash.phash(im)
    peer = len(decoded) / (time.perf_counter() - start)
    size = f"{decoded[0].size[0]}x{decoded[0].size[1]}"
    print(f"phash, {len(files)} COCO images (~{size}), one core, decode excluded:")
    print(f"  framescout PerceptualHash  {ours:8.0f} images/s   (target >= 1,000)")
    print(f"  imagehash.phash (peer)     {peer:8.0f} images/s   ratio {ours / peer:.1f}x")


def embedding_like(
    n: int,
    dim: int,
    rng: np.random.Generator,
    centres: NDArray[np.float32],
    spectrum: NDArray[np.float32],
    basis: NDArray[np.float32],
) -> NDArray[np.float32]:
    x = (
        centres[rng.integers(0, len(centres), n)]
        + 0.5 * rng.normal(size=(n, dim)).astype(np.float32) * spectrum
    )
    x = x @ basis
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def hard(n: int, dim: int, rng: np.random.Generator, centres: NDArray[np.float32]) -> NDArray[np.float32]:
    x = centres[rng.integers(0, len(centres), n)] + rng.normal(0, 1.4 / np.sqrt(dim), (n, dim)).astype(
        np.float32
    )
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def exact_top10(data: NDArray[np.float32], queries: NDArray[np.float32]) -> tuple[NDArray[np.int64], float]:
    out = np.empty((len(queries), 10), dtype=np.int64)
    start = time.perf_counter()
    for s in range(0, len(queries), 256):
        sims = queries[s : s + 256] @ data.T
        out[s : s + 256] = np.argpartition(-sims, 10, axis=1)[:, :10]
    return out, len(queries) / (time.perf_counter() - start)


def datasets(n: int, dim: int, n_queries: int) -> dict[str, tuple[NDArray[np.float32], NDArray[np.float32]]]:
    rng = np.random.default_rng(0)
    spectrum = (np.arange(1, dim + 1) ** -0.75).astype(np.float32)
    basis = np.linalg.qr(rng.normal(size=(dim, dim)))[0].astype(np.float32)
    centres = rng.normal(size=(1000, dim)).astype(np.float32) * spectrum
    hard_centres = rng.normal(size=(2000, dim)).astype(np.float32)
    hard_centres /= np.linalg.norm(hard_centres, axis=1, keepdims=True)
    return {
        "embedding-like": (
            embedding_like(n, dim, rng, centres, spectrum, basis),
            embedding_like(n_queries, dim, rng, centres, spectrum, basis),
        ),
        "hard": (hard(n, dim, rng, hard_centres), hard(n_queries, dim, rng, hard_centres)),
    }


def engines(dim: int, variants: list[str], peers: bool) -> list[Engine]:
    """Ours in each ``dtype:connectivity`` variant (the first is the product's default; ``raw-f16:16``
    is usearch's own index without our wrapper), then the peers."""
    out: list[Engine] = []
    for variant in variants:
        dtype, _, m = variant.partition(":")
        if dtype.startswith("raw-"):  # raw-f16 or raw-f16-ip (inner product: the vectors are unit length)
            raw_dtype, _, metric = dtype[4:].partition("-")
            out.append(RawUsearch(dim, dtype=raw_dtype, metric=metric or "cos", connectivity=int(m or 16)))
        else:
            out.append(Ours(dim, dtype=dtype or None, connectivity=int(m or 16)))
    if peers:
        out += [Faiss(dim), Hnswlib(dim)]
    return out


def index_speed(
    data: NDArray[np.float32],
    queries: NDArray[np.float32],
    args: argparse.Namespace,
) -> None:
    truth, brute_qps = exact_top10(data, queries)
    print(f"  exact brute force (NumPy, peer) {brute_qps:,.0f} q/s")
    chosen: list[tuple[Engine, Point]] = []
    builds: list[float] = []
    for engine in engines(data.shape[1], args.variants.split(","), not args.no_peers):
        builds.append(timed_build(engine, data, args.threads))
        point = smallest_ef(
            lambda ef, e=engine: recall_at(e.search(queries, 10, ef, args.threads), truth), args.target
        )
        if point is None:
            print(f"    {engine.name}: recall@10 {args.target} not reached at ef=2048")
            builds.pop()
            continue
        chosen.append((engine, point))
    all_cores = interleaved_qps(chosen, queries, args.threads, args.repeats)
    one_core = interleaved_qps(chosen, queries, 1, args.repeats)
    print(
        f"    {'engine':<38} {'build s':>7} {'ef':>5} {'recall@10':>9}"
        f" {'q/s best':>9} {'median':>8} {'1 thread':>9} {'median':>8}"
    )
    for (engine, _), point, single, build in zip(chosen, all_cores, one_core, builds, strict=True):
        print(
            f"    {engine.name:<38} {build:7.1f} {point.ef:5d} {point.recall:9.4f}"
            f" {point.qps_best:9,.0f} {point.qps_median:8,.0f}"
            f" {single.qps_best:9,.0f} {single.qps_median:8,.0f}"
        )
    del chosen


def kcenter_numpy_textbook(x: NDArray[np.float32], budget: int, first: int) -> NDArray[np.intp]:
    """Farthest-first as usually written: the distance of every row to each new centre, in full."""
    chosen = [first]
    dist = np.linalg.norm(x - x[first], axis=1)
    for _ in range(1, budget):
        pick = int(np.argmax(dist))
        chosen.append(pick)
        dist = np.minimum(dist, np.linalg.norm(x - x[pick], axis=1))
    return np.asarray(chosen, dtype=np.intp)


def kcenter_numpy_norms(x: NDArray[np.float32], budget: int, first: int) -> NDArray[np.intp]:
    """Farthest-first with precomputed norms (|x|² - 2x·c + |c|²), in one pass over all rows."""
    norms = np.einsum("ij,ij->i", x, x)
    chosen = [first]
    dist = norms - 2.0 * (x @ x[first]) + norms[first]
    for _ in range(1, budget):
        pick = int(np.argmax(dist))
        chosen.append(pick)
        np.minimum(dist, norms - 2.0 * (x @ x[pick]) + norms[pick], out=dist)
    return np.asarray(chosen, dtype=np.intp)


def kcenter_speed(data: NDArray[np.float32], budget: int) -> None:
    first = int(np.random.default_rng(0).integers(len(data)))  # kcenter_greedy's first pick
    print(f"k-center greedy, {budget} picks from {len(data):,} x {data.shape[1]} (embedding-like):")
    runs: dict[str, NDArray[np.intp]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "x.npy", data)
        mapped = np.load(Path(tmp) / "x.npy", mmap_mode="r")
        contenders: list[tuple[str, Callable[[], NDArray[np.intp]]]] = [
            ("framescout kcenter_greedy", lambda: kcenter_greedy(data, budget, rng=np.random.default_rng(0))),
            (
                "framescout, memory-mapped .npy",
                lambda: kcenter_greedy(mapped, budget, rng=np.random.default_rng(0)),
            ),
            ("NumPy, precomputed norms", lambda: kcenter_numpy_norms(data, budget, first)),
            ("NumPy, textbook", lambda: kcenter_numpy_textbook(data, budget, first)),
        ]
        for name, run in contenders:
            start = time.perf_counter()
            runs[name] = run()
            print(f"  {name:<32} {time.perf_counter() - start:6.1f} s")
    ours = runs["framescout kcenter_greedy"]
    for name, picks in runs.items():
        same = int(np.argmin(np.append(picks == ours, False)))
        print(f"  {name:<32} first {same} picks identical to ours; covering radius {radius(data, picks):.4f}")


def radius(x: NDArray[np.float32], picks: NDArray[np.intp]) -> float:
    """The farthest any row is from its nearest pick (what k-center minimises)."""
    norms = np.einsum("ij,ij->i", x, x)
    return float(np.sqrt(min_distances(x, norms, x[picks]).max()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--target", type=float, default=0.99, help="recall@10 each engine must reach")
    parser.add_argument("--threads", type=int, default=0, help="build and search threads (0 = all cores)")
    parser.add_argument("--repeats", type=int, default=5, help="timed search passes per engine")
    parser.add_argument(
        "--variants",
        default="f16:16",
        help="ours as dtype:connectivity, comma-separated (f16:16 is the product's default; raw-f16:16 "
        "is usearch without our wrapper)",
    )
    parser.add_argument("--no-peers", action="store_true", help="ours only (faiss, hnswlib not needed)")
    parser.add_argument("--datasets", default="embedding-like,hard")
    parser.add_argument("--kcenter-budget", type=int, default=1000, help="0 skips k-center")
    parser.add_argument("--skip-phash", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    if not args.skip_phash:
        phash_speed()
    sets = datasets(args.n, args.dim, args.queries)
    threads = args.threads or os.cpu_count()
    print(
        f"vector index, cosine, {args.n:,} x {args.dim}, {args.queries} held-out queries, k=10; "
        f"each engine at its smallest ef with recall@10 >= {args.target}; build and search on "
        f"{threads} threads (and search on 1); q/s best and median of {args.repeats} interleaved passes:"
    )
    for name in args.datasets.split(","):
        print(f"  {name}:")
        index_speed(*sets[name], args)
    if args.kcenter_budget:
        kcenter_speed(sets["embedding-like"][0], args.kcenter_budget)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
