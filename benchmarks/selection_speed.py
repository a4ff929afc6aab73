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
import time
from pathlib import Path

import imagehash
import numpy as np
from numpy.typing import NDArray

from framescout.imaging import read_image_file, to_bgr
from framescout.selection import PerceptualHash, VectorIndex, kcenter_greedy

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


def index_speed(n: int, dim: int, n_queries: int) -> NDArray[np.float32]:
    rng = np.random.default_rng(0)
    spectrum = (np.arange(1, dim + 1) ** -0.75).astype(np.float32)
    basis = np.linalg.qr(rng.normal(size=(dim, dim)))[0].astype(np.float32)
    centres = rng.normal(size=(1000, dim)).astype(np.float32) * spectrum
    hard_centres = rng.normal(size=(2000, dim)).astype(np.float32)
    hard_centres /= np.linalg.norm(hard_centres, axis=1, keepdims=True)
    datasets = {
        "embedding-like": (
            embedding_like(n, dim, rng, centres, spectrum, basis),
            embedding_like(n_queries, dim, rng, centres, spectrum, basis),
        ),
        "hard": (hard(n, dim, rng, hard_centres), hard(n_queries, dim, rng, hard_centres)),
    }
    print(
        f"vector index (usearch HNSW, cosine, f16, M=16), {n:,} x {dim}, {n_queries} held-out queries, k=10:"
    )
    ids = [str(i) for i in range(n)]
    for name, (data, queries) in datasets.items():
        truth, brute_qps = exact_top10(data, queries)
        index = VectorIndex(dim, "cos")
        start = time.perf_counter()
        index.add(ids, data)
        build = time.perf_counter() - start
        print(f"  {name}: built in {build:.1f} s; exact brute force (peer) {brute_qps:,.0f} q/s")
        for ef in (16, 32, 48, 64, 80, 96, 128):
            index.expansion_search = ef
            start = time.perf_counter()
            found, _ = index.search(queries, k=10)
            qps = n_queries / (time.perf_counter() - start)
            recall = np.mean(
                [len(set(map(int, f)) & set(t.tolist())) / 10 for f, t in zip(found, truth, strict=True)]
            )
            mark = "  <- meets target" if qps >= 10_000 and recall >= 0.99 else ""
            print(f"    ef={ef:<4} {qps:9,.0f} q/s   recall@10 {recall:.4f}{mark}")
    return datasets["embedding-like"][0]


def kcenter_speed(data: NDArray[np.float32], budget: int = 1000) -> None:
    start = time.perf_counter()
    picked = kcenter_greedy(data, budget, rng=np.random.default_rng(0))
    seconds = time.perf_counter() - start
    print(f"k-center greedy: {len(picked)} picked from {len(data):,} x {data.shape[1]} in {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--skip-kcenter", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores")
    phash_speed()
    data = index_speed(args.n, args.dim, args.queries)
    if not args.skip_kcenter:
        kcenter_speed(data)


if __name__ == "__main__":
    main()
