"""Sustained upload ingest into a real ``framescout serve`` process over loopback.

Concurrent clients upload 640x480 JPEGs to the native endpoint, first all unique, then a mix with
duplicates (retries of already-stored bytes). Afterwards every stored image is counted and re-hashed
against the database, so the figure only counts if nothing was lost or duplicated.

    python benchmarks/upload_ingest.py [--images 1500] [--clients 8] [--workers 2] [--dup-ratio 0.5]
"""

from __future__ import annotations

import argparse
import io
import random
import sqlite3
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from framescout.imaging import sha256_hex
from framescout.server.process import ServerProcess


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


def run_phase(url: str, key: str, payloads: list[bytes], clients: int) -> tuple[float, int, int]:
    """Upload every payload from ``clients`` threads; return (seconds, new, duplicates)."""
    local = threading.local()
    counts = {"new": 0, "dup": 0}
    lock = threading.Lock()

    def upload(data: bytes) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60)
        response = client.post(
            f"{url}/api/v1/projects/bench/ingest/images", files={"file": ("frame.jpg", data, "image/jpeg")}
        )
        response.raise_for_status()
        with lock:
            counts["dup" if response.json()["duplicate"] else "new"] += 1

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(upload, payloads))
    return time.perf_counter() - start, counts["new"], counts["dup"]


def verify(data_dir: Path, expected: set[str]) -> None:
    """Every expected hash is in the database exactly once and its blob re-hashes to its name."""
    with sqlite3.connect(data_dir / "framescout.db") as conn:
        rows = [r[0] for r in conn.execute("SELECT sha256 FROM images")]
    assert len(rows) == len(set(rows)) == len(expected), (len(rows), len(set(rows)), len(expected))
    assert set(rows) == expected, "database hashes differ from what was uploaded"
    blobs = [p for p in (data_dir / "blobs").glob("??/??/*") if p.is_file()]
    assert len(blobs) == len(expected), (len(blobs), len(expected))
    for path in blobs:
        assert sha256_hex(path.read_bytes()) == path.name, f"blob {path} is corrupt"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=1500, help="unique images in the first phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent uploading clients")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--dup-ratio", type=float, default=0.5, help="share of duplicates in the mixed phase")
    args = parser.parse_args()

    print(f"generating {args.images} + {args.images // 2} JPEGs (640x480)...", flush=True)
    unique = make_jpegs(args.images)
    fresh = make_jpegs(args.images // 2, seed=1)
    mixed_count = len(fresh) * 2
    n_dup = int(mixed_count * args.dup_ratio)
    rng = random.Random(0)
    mixed = fresh[: mixed_count - n_dup] + [rng.choice(unique) for _ in range(n_dup)]
    rng.shuffle(mixed)
    size_kb = sum(map(len, unique)) / len(unique) / 1024

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        server = ServerProcess(data_dir, workers=args.workers)
        key = server.create_key("bench")
        server.cli("projects", "create", "bench/ingest")
        with server:
            run_phase(server.url, key, make_jpegs(20, seed=99), args.clients)  # warm-up
            t1, new1, _ = run_phase(server.url, key, unique, args.clients)
            t2, new2, dup2 = run_phase(server.url, key, mixed, args.clients)
        warm = {sha256_hex(b) for b in make_jpegs(20, seed=99)}
        expected = {sha256_hex(b) for b in unique} | {sha256_hex(b) for b in mixed} | warm
        verify(data_dir, expected)

    print(f"server workers {args.workers}, clients {args.clients}, mean JPEG {size_kb:.0f} KB")
    print(
        f"unique    : {len(unique):5d} uploads in {t1:6.2f} s = {len(unique) / t1:7.1f} images/s (new {new1})"
    )
    rate = len(mixed) / t2
    print(
        f"mixed {args.dup_ratio:.0%} dup: {len(mixed):5d} uploads in {t2:6.2f} s = {rate:7.1f} images/s "
        f"(new {new2}, duplicate {dup2})"
    )
    print(f"verified  : {len(expected)} images stored once each, every blob re-hashed OK (nothing lost)")


if __name__ == "__main__":
    main()
