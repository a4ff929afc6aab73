"""Sustained upload ingest into real ``framescout serve`` processes over loopback.

Concurrent clients upload 640x480 JPEGs to the native endpoint, first all unique, then a mix with
duplicates (retries of already-stored bytes); afterwards every stored image is counted and re-hashed
against the database, so a figure only counts if nothing was lost or duplicated. The workload runs on
the embedded default (SQLite + files) and, with ``--database-url`` and ``--blob-url`` (or
``--start-infra``: a throw-away PostgreSQL and SeaweedFS), on PostgreSQL + S3 in the same run: with 1
and 4 workers, and with two servers of 2 workers each behind the client (round-robin). ``--grow N``
then ingests 0 → N distinct images into each store and prints the rate and p99 latency per tenth.

    python benchmarks/upload_ingest.py [--images 1500] [--clients 8] [--workers 2] [--dup-ratio 0.5]
    python benchmarks/upload_ingest.py --start-infra --images 1000 --grow 20000
    python benchmarks/upload_ingest.py --database-url postgresql+psycopg://… --blob-url s3://bucket/p
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import random
import tempfile
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from _cpu import CpuMeter
from _infra import Infra, make_bucket, start_infra
from _ingest_stores import PROJECT, Target, drop_target, fresh_target, servers, verify
from PIL import Image

from framescout.imaging import sha256_hex


def make_jpegs(count: int, seed: int = 0) -> list[bytes]:
    """Distinct camera-like 640x480 JPEGs (smooth gradients + sensor noise), ~40-70 KB each."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:480, 0:640].astype(np.float32)
    out = []
    for i in range(count):
        base = (x * rng.uniform(0.1, 0.4) + y * rng.uniform(0.1, 0.4) + i) % 256
        frame = np.stack([base, (base * 0.7 + 40) % 256, (255 - base)], axis=-1)
        frame += rng.normal(0, 6, frame.shape)
        buffer = io.BytesIO()
        Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=85)
        out.append(buffer.getvalue())
    return out


@dataclass
class Phase:
    """One phase's outcome: wall time, new and duplicate answers, each upload's latency."""

    seconds: float
    new: int
    dup: int
    latencies: list[float]

    def rate(self) -> float:
        return (self.new + self.dup) / self.seconds

    def p99_ms(self) -> float:
        return float(np.percentile(self.latencies, 99)) * 1000


def run_phase(urls: list[str], key: str, payloads: Iterable[bytes], clients: int) -> Phase:
    """Upload every payload from ``clients`` threads, round-robin over the servers at ``urls``."""
    local = threading.local()
    phase = Phase(0.0, 0, 0, [])
    lock = threading.Lock()
    turn = itertools.count()

    def upload(data: bytes) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60)
        url = urls[next(turn) % len(urls)]
        began = time.perf_counter()
        response = client.post(
            f"{url}/api/v1/projects/{PROJECT}/images", files={"file": ("frame.jpg", data, "image/jpeg")}
        )
        response.raise_for_status()
        took = time.perf_counter() - began
        with lock:
            phase.latencies.append(took)
            if response.json()["duplicate"]:
                phase.dup += 1
            else:
                phase.new += 1

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(upload, payloads))
    phase.seconds = time.perf_counter() - start
    return phase


def numbered(jpeg: bytes, number: int) -> bytes:
    """``jpeg`` made distinct by a comment segment (COM) after SOI: still a valid, identical image, so
    the growth phase uploads N distinct images without generating N of them."""
    comment = f"framescout-bench {number}".encode()
    return jpeg[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + jpeg[2:]


@dataclass
class Workload:
    unique: list[bytes]
    mixed: list[bytes]
    warm: list[bytes]
    clients: int
    postgres_data: Path | None = None  # the services this run started, for the CPU figures
    weed_pid: int | None = None

    def expected(self) -> set[str]:
        return {sha256_hex(b) for b in (*self.unique, *self.mixed, *self.warm)}


def _meter(target: Target, work: Workload) -> CpuMeter:
    """CPU accounting for the target's server processes (and its PostgreSQL and SeaweedFS)."""
    scale_out = target.database_url is not None
    return CpuMeter(
        [target.data_dir], work.postgres_data if scale_out else None, work.weed_pid if scale_out else None
    )


def compare(target: Target, work: Workload, server_count: int, workers: int) -> str:
    """The unique and the mixed phase on a fresh store; one line of figures."""
    meter = _meter(target, work)
    with servers(target, server_count, workers) as (urls, key):
        run_phase(urls, key, work.warm, work.clients)
        before = meter.snapshot()
        unique = run_phase(urls, key, work.unique, work.clients)
        cpu = CpuMeter.per_upload(before, meter.snapshot(), len(work.unique))
        mixed = run_phase(urls, key, work.mixed, work.clients)
    verify(target, work.expected(), rehash=True)
    shape = f"{server_count} x {workers}" if server_count > 1 else f"{workers}"
    return (
        f"{target.name:14} workers {shape:6} unique {unique.rate():6.1f}/s p99 {unique.p99_ms():6.0f} ms"
        f" | mixed {mixed.rate():6.1f}/s p99 {mixed.p99_ms():6.0f} ms (new {mixed.new}, dup {mixed.dup})"
        + (f"\n{'':14} unique phase {cpu}" if cpu else "")
    )


def grow(target: Target, work: Workload, total: int, workers: int) -> None:
    """Ingest 0 → ``total`` distinct images in ten steps (after the warm-up images), printing each
    step's rate and p99."""
    step, bases, clients = max(1, total // 10), work.unique[:50], work.clients
    meter = _meter(target, work)
    rates = []
    with servers(target, 1, workers) as (urls, key):
        run_phase(urls, key, work.warm, clients)
        for start in range(0, total, step):
            count = min(step, total - start)
            payloads = (numbered(bases[n % len(bases)], n) for n in range(start, start + count))
            before = meter.snapshot()
            phase = run_phase(urls, key, payloads, clients)
            cpu = CpuMeter.per_upload(before, meter.snapshot(), count)  # load-independent, unlike the rate
            rates.append(phase.rate())
            print(
                f"  {target.name:14} {start:7d} → {start + count:7d} images: {phase.rate():6.1f}/s, "
                f"p99 {phase.p99_ms():5.0f} ms" + (f"; {cpu}" if cpu else ""),
                flush=True,
            )
    expected = {sha256_hex(numbered(bases[n % len(bases)], n)) for n in range(total)}
    verify(target, expected | {sha256_hex(b) for b in work.warm}, rehash=False)
    first, last = float(np.mean(rates[:3])), float(np.mean(rates[-3:]))
    print(
        f"  {target.name:14} last three tenths vs first three: {first:.1f} → {last:.1f}/s "
        f"({(last - first) / first:+.0%}; counts verified: {total} stored once)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=1500, help="unique images in the first phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent uploading clients")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (growth runs)")
    parser.add_argument("--dup-ratio", type=float, default=0.5, help="share of duplicates in the mixed phase")
    parser.add_argument("--database-url", help="PostgreSQL to compare with (a role with CREATEDB)")
    parser.add_argument("--blob-url", help="s3://bucket/prefix to compare with (boto3's AWS_* variables)")
    parser.add_argument("--start-infra", action="store_true", help="start PostgreSQL + SeaweedFS for the run")
    parser.add_argument("--grow", type=int, default=0, help="then ingest 0 → N images into each store")
    args = parser.parse_args()

    infra = None
    if args.start_infra and not (args.database_url and args.blob_url):
        infra = start_infra()
        os.environ.update(infra.s3_env)
        make_bucket(infra.s3_env, "framescout-bench")
        args.database_url, args.blob_url = infra.database_url, "s3://framescout-bench/runs"
    try:
        run(args, infra)
    finally:
        if infra is not None:
            infra.stop()


def run(args: argparse.Namespace, infra: Infra | None = None) -> None:
    print(f"generating {args.images} + {args.images // 2} JPEGs (640x480)...", flush=True)
    unique = make_jpegs(args.images)
    fresh = make_jpegs(args.images // 2, seed=1)
    mixed_count = len(fresh) * 2
    n_dup = int(mixed_count * args.dup_ratio)
    rng = random.Random(0)
    mixed = fresh[: mixed_count - n_dup] + [rng.choice(unique) for _ in range(n_dup)]
    rng.shuffle(mixed)
    work = Workload(unique, mixed, make_jpegs(20, seed=99), args.clients)
    if infra is not None:
        work.postgres_data, work.weed_pid = infra.root / "pg", infra.weed_pid()
    size_kb = sum(map(len, unique)) / len(unique) / 1024
    urls = [(None, None)] + (
        [(args.database_url, args.blob_url)] if args.database_url and args.blob_url else []
    )
    print(f"clients {args.clients}, mean JPEG {size_kb:.0f} KB, {len(unique)} unique then {len(mixed)} mixed")
    with tempfile.TemporaryDirectory() as tmp:
        for database_url, blob_url in urls:
            for server_count, workers in ((1, 1), (1, 4), (2, 2)):
                target = fresh_target(Path(tmp), database_url, blob_url)
                try:
                    print(compare(target, work, server_count, workers), flush=True)
                finally:
                    drop_target(target)
        if args.grow:
            print(f"growth: 0 → {args.grow} distinct images, {args.workers} workers")
            for database_url, blob_url in urls:
                target = fresh_target(Path(tmp), database_url, blob_url)
                try:
                    grow(target, work, args.grow, args.workers)
                finally:
                    drop_target(target)
    print("verified  : every configuration stored each image once, every blob re-hashed OK (nothing lost)")


if __name__ == "__main__":
    main()
