"""A bounded soak of one real ``framescout serve``: uploads, UI readers, annotation writers and slow URL
fetches at once, with ``/healthz`` probed throughout and an exactly-once check at the end.

Load (all over loopback, for ``--seconds``):
- ``--uploaders`` threads upload distinct 640x480 JPEGs with predictions; one upload in ten re-sends
  bytes already acknowledged (a retry after a lost answer) and must answer ``duplicate``;
- ``--readers`` threads signed in to the review UI walk the dashboard, the image browser, thumbnails
  and review pages;
- ``--writers`` threads replace the ground truth of random images (Roboflow JSON annotations);
- ``--fetchers`` threads upload by ``url=`` from a loopback server that sends one byte every 2 s
  (allowed through ``FRAMESCOUT_FETCH_ALLOW``): each must end with a 4xx by the fetch deadline;
- one prober calls ``/healthz`` every 0.2 s.

At the end every acknowledged hash must be in the database exactly once, with its blob re-hashing to
its name; every 5xx and every transport error is counted. Prints p50/p99 per operation.

    python benchmarks/soak.py [--seconds 600] [--uploaders 16] [--readers 2] [--writers 2] [--fetchers 4]
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import random
import re
import sqlite3
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from framescout.imaging import sha256_hex
from framescout.server.process import ServerProcess

PROJECT = "soak/cams"
CLASSES = ["person", "car", "bicycle", "dog"]


class Tally:
    """Latencies and outcomes per operation, shared by every load thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latency: defaultdict[str, list[float]] = defaultdict(list)
        self.outcomes: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.acknowledged: set[str] = set()
        self.failures: list[str] = []

    def record(self, op: str, seconds: float, outcome: str) -> None:
        with self._lock:
            self.latency[op].append(seconds)
            self.outcomes[op][outcome] += 1

    def fail(self, message: str) -> None:
        with self._lock:
            if len(self.failures) < 50:
                self.failures.append(message)


def frame_jpeg(rng: np.random.Generator, serial: int) -> bytes:
    """A distinct camera-like 640x480 JPEG (gradient + noise + the serial burnt into the corner)."""
    y, x = np.mgrid[0:480, 0:640].astype(np.float32)
    base = (x * rng.uniform(0.1, 0.4) + y * rng.uniform(0.1, 0.4) + serial) % 256
    pixels = np.stack([base, (base * 0.7 + 40) % 256, 255 - base], axis=-1) + rng.normal(0, 6, (480, 640, 3))
    pixels[:8, :64] = np.array([(serial >> (i % 24)) & 1 for i in range(64)])[None, :, None] * 255
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, format="JPEG", quality=85)
    return out.getvalue()


def predictions_json(rng: random.Random) -> str:
    boxes = []
    for _ in range(rng.randint(0, 8)):
        w, h = rng.uniform(10, 200), rng.uniform(10, 200)
        boxes.append(
            {
                "x": rng.uniform(w / 2, 640 - w / 2),
                "y": rng.uniform(h / 2, 480 - h / 2),
                "width": w,
                "height": h,
                "confidence": rng.uniform(0.05, 0.99),
                "class": rng.choice(CLASSES),
            }
        )
    return json.dumps({"predictions": boxes, "image": {"width": 640, "height": 480}})


@contextmanager
def drip_server(interval: float) -> Iterator[str]:
    """A loopback HTTP server that answers 200 and then sends one byte every ``interval`` seconds."""

    class Drip(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(100_000):
                    self.wfile.write(b"\xff")
                    self.wfile.flush()
                    time.sleep(interval)
            except OSError:
                pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/frame.jpg"
    finally:
        httpd.shutdown()


def timed(tally: Tally, op: str, call: Callable[[], httpx.Response]) -> httpx.Response | None:
    """Run one request; record its latency and outcome (status class, or the transport error)."""
    start = time.perf_counter()
    try:
        response = call()
    except httpx.HTTPError as exc:
        tally.record(op, time.perf_counter() - start, f"transport:{type(exc).__name__}")
        tally.fail(f"{op}: {type(exc).__name__}: {exc}")
        return None
    outcome = str(response.status_code)
    tally.record(op, time.perf_counter() - start, outcome)
    if response.status_code >= 500:
        tally.fail(f"{op}: {response.status_code} {response.text[:200]}")
    return response


class Load:
    """The load threads; each runs until ``stop`` is set."""

    def __init__(self, url: str, key: str, tally: Tally, stop: threading.Event, drip_url: str) -> None:
        self.url, self.key, self.tally, self.stop, self.drip_url = url, key, tally, stop, drip_url
        self.images: list[str] = []
        self._lock = threading.Lock()
        self._serial = 0
        self.sent: list[bytes] = []

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=60)

    def _next_serial(self) -> int:
        with self._lock:
            self._serial += 1
            return self._serial

    def uploader(self, seed: int) -> None:
        rng, prng = np.random.default_rng(seed), random.Random(seed)
        path = f"/api/v1/projects/{PROJECT}/images"
        with self.client() as http:
            while not self.stop.is_set():
                resend = prng.random() < 0.1 and self.sent
                data = prng.choice(self.sent) if resend else frame_jpeg(rng, self._next_serial())
                form = {"predictions": predictions_json(prng), "sampling_rule": prng.choice(["low", "rand"])}
                response = timed(
                    self.tally,
                    "upload",
                    functools.partial(
                        http.post, path, data=form, files={"file": ("f.jpg", data, "image/jpeg")}
                    ),
                )
                if response is None or response.status_code not in (200, 201):
                    if response is not None and response.status_code < 500:
                        self.tally.fail(f"upload: {response.status_code} {response.text[:200]}")
                    continue
                body = response.json()
                if body["sha256"] != sha256_hex(data) or bool(resend) != bool(body["duplicate"]):
                    self.tally.fail(f"upload answered {body} for a {'re-sent' if resend else 'new'} frame")
                with self._lock:
                    self.tally.acknowledged.add(body["sha256"])
                    if not resend:
                        self.images.append(body["id"])
                        if len(self.sent) < 2000:
                            self.sent.append(data)

    def reader(self, seed: int) -> None:
        prng = random.Random(seed)
        with httpx.Client(base_url=self.url, timeout=60, follow_redirects=False) as http:
            form = http.get("/ui/login")
            token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
            assert token, "the login page has no CSRF token"
            signed = http.post(
                "/ui/login", data={"api_key": self.key, "login_csrf": token.group(1), "reviewer": "soak"}
            )
            assert signed.status_code == 303, f"sign-in failed: {signed.status_code}"
            slug = PROJECT.split("/")[1]
            while not self.stop.is_set():
                with self._lock:
                    image = prng.choice(self.images) if self.images else None
                pages = [("ui_dashboard", f"/ui/p/{slug}"), ("ui_browser", f"/ui/p/{slug}/images")]
                if image:
                    pages += [
                        ("ui_review", f"/ui/p/{slug}/images/{image}"),
                        ("ui_thumbnail", f"/ui/p/{slug}/images/{image}/thumbnail"),
                    ]
                for op, page in pages:
                    response = timed(self.tally, op, functools.partial(http.get, page))
                    if response is not None and response.status_code != 200:
                        self.tally.fail(f"{op}: {response.status_code}")

    def writer(self, seed: int) -> None:
        prng = random.Random(seed)
        with self.client() as http:
            while not self.stop.is_set():
                with self._lock:
                    image = prng.choice(self.images) if self.images else None
                if image is None:
                    time.sleep(0.1)
                    continue
                body = predictions_json(prng)
                response = timed(
                    self.tally,
                    "annotate",
                    functools.partial(
                        http.post,
                        f"/api/v1/projects/{PROJECT}/images/{image}/annotations",
                        params={"format": "roboflow", "overwrite": "true"},
                        content=body.encode(),
                        headers={"Content-Type": "text/plain"},
                    ),
                )
                if response is not None and response.status_code != 201:
                    self.tally.fail(f"annotate: {response.status_code} {response.text[:200]}")

    def fetcher(self, _seed: int) -> None:
        with self.client() as http:
            while not self.stop.is_set():
                response = timed(
                    self.tally,
                    "slow_fetch",
                    lambda: http.post(
                        f"/api/v1/projects/{PROJECT}/images", data={"url": self.drip_url}, files={}
                    ),
                )
                if response is not None and not 400 <= response.status_code < 500:
                    self.tally.fail(f"slow fetch answered {response.status_code}, expected a 4xx")

    def prober(self, _seed: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            while not self.stop.is_set():
                timed(self.tally, "healthz", lambda: http.get("/healthz"))
                self.stop.wait(0.2)


def verify(data_dir: Path, acknowledged: set[str]) -> tuple[int, int]:
    """Every acknowledged hash is stored exactly once and its blob re-hashes; return (rows, blobs)."""
    with sqlite3.connect(data_dir / "framescout.db") as conn:
        rows = [r[0] for r in conn.execute("SELECT sha256 FROM images")]
    assert len(rows) == len(set(rows)), "an image is stored twice"
    missing = acknowledged - set(rows)
    assert not missing, f"{len(missing)} acknowledged uploads are not in the database"
    blobs = {p.name: p for p in (data_dir / "blobs").glob("??/??/*") if p.is_file()}
    for sha in rows:
        assert sha in blobs, f"image {sha} has no blob"
        assert sha256_hex(blobs[sha].read_bytes()) == sha, f"blob {sha} is corrupt"
    return len(rows), len(blobs)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) * 1000 if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--uploaders", type=int, default=16)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--fetchers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    args = parser.parse_args()

    tally, stop = Tally(), threading.Event()
    with tempfile.TemporaryDirectory() as tmp, drip_server(2.0) as drip_url:
        data_dir = Path(tmp) / "data"
        os.environ["FRAMESCOUT_FETCH_ALLOW"] = "127.0.0.1"
        server = ServerProcess(data_dir, workers=args.workers)
        key = server.create_key("soak")
        server.cli("projects", "create", PROJECT)
        with server:
            load = Load(server.url, key, tally, stop, drip_url)
            roles = [
                (load.uploader, args.uploaders),
                (load.reader, args.readers),
                (load.writer, args.writers),
                (load.fetcher, args.fetchers),
                (load.prober, 1),
            ]
            threads = [
                threading.Thread(target=role, args=(i * 1000 + n,), daemon=True)
                for i, (role, count) in enumerate(roles)
                for n in range(count)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            while time.perf_counter() - started < args.seconds:
                time.sleep(min(10.0, args.seconds))
                done = sum(tally.outcomes["upload"].values())
                print(f"  {time.perf_counter() - started:6.0f} s: {done} uploads", flush=True)
            stop.set()
            for thread in threads:
                thread.join(timeout=90)
            elapsed = time.perf_counter() - started
        rows, blobs = verify(data_dir, tally.acknowledged)

    print(
        f"\nsoak: {elapsed:.0f} s, server workers {args.workers}; {args.uploaders} uploaders, "
        f"{args.readers} UI readers, {args.writers} annotation writers, {args.fetchers} slow fetchers"
    )
    print(f"{'operation':<14}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  outcomes")
    for op in sorted(tally.latency):
        values = tally.latency[op]
        outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(tally.outcomes[op].items()))
        print(
            f"{op:<14}{len(values):>9}{percentile(values, 50):>9.1f}{percentile(values, 99):>9.1f}"
            f"{max(values) * 1000:>9.1f}  {outcomes}"
        )
    errors = sum(n for c in tally.outcomes.values() for k, n in c.items() if k.startswith(("5", "transport")))
    print(f"5xx + transport errors: {errors}; other failures: {len(tally.failures)}")
    for message in tally.failures[:10]:
        print(f"  {message}")
    uploads = sum(tally.outcomes["upload"].values())
    print(
        f"exactly once: {len(tally.acknowledged)} acknowledged hashes, {rows} image rows, {blobs} blobs; "
        f"{uploads / elapsed:.1f} uploads/s sustained"
    )


if __name__ == "__main__":
    main()
