"""Latency of the review web UI (``/ui``) served by a real ``framescout serve`` process over loopback.

A project is filled with distinct 640x480 JPEGs, each with 3-15 model boxes as pre-labels, a sampling
rule, a model version and tags; about 30% are then reviewed through the UI's own save endpoint so the
dashboard has progress to show. A reviewer signs in with an API key like a browser does (login form,
double-submit cookie, session cookie) and every page is timed end to end (request + full body):
project list, dashboard, image browser (plain, filtered, a later page), review page, a thumbnail and
a review save, each on fresh images where it matters. Last, a browser page and its 48 thumbnails are
loaded over 6 parallel connections, as a browser would, and the wall time for the full grid is printed.

    python benchmarks/review_ui.py [--images 1000] [--reps 20] [--workers 1] [--connections 6]
"""

from __future__ import annotations

import argparse
import html
import io
import json
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from framescout.client import Client
from framescout.server.process import ServerProcess

WORKSPACE, SLUG = "bench", "review"
PROJECT = f"{WORKSPACE}/{SLUG}"
WIDTH, HEIGHT = 640, 480
CLASSES = ["person", "car", "bicycle", "dog", "truck"]
RULES = {  # sampling rule -> rule_kind in the frame's metadata
    "low-confidence": "confidence_below",
    "near-threshold": "confidence_below",
    "random": "random",
    "hourly-sample": "random",
}
TAGS = ["night", "day", "rain", "entrance", "parking"]
FILTERED = "status=pending&min_confidence=0.3&max_confidence=0.6"
STATE = re.compile(r'<script type="application/json" id="review-state">(.*?)</script>', re.S)
THUMB = re.compile(r'src="(/ui/p/[^"]+/thumbnail)"')


_Y, _X = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
_NOISE = np.random.default_rng(0).normal(0, 6, (HEIGHT + 32, WIDTH + 32, 3)).astype(np.float32)


def make_jpeg(index: int) -> bytes:
    """A camera-like 640x480 JPEG (gradient + sensor noise, ~45 KB) whose pixels depend on ``index``."""
    rng = np.random.default_rng(index)
    base = (_X * rng.uniform(0.1, 0.4) + _Y * rng.uniform(0.1, 0.4) + index) % 256
    frame = np.stack([base, (base * 0.7 + 40) % 256, (255 - base)], axis=-1)
    dy, dx = rng.integers(0, 32, 2)
    frame += _NOISE[dy : dy + HEIGHT, dx : dx + WIDTH]
    buffer = io.BytesIO()
    Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def make_predictions(rng: random.Random) -> dict[str, Any]:
    """3-15 random boxes inside the frame, Roboflow-shaped (centre, size, class, confidence)."""
    boxes = []
    for _ in range(rng.randint(3, 15)):
        w, h = rng.uniform(20, 200), rng.uniform(20, 200)
        cx, cy = rng.uniform(w / 2, WIDTH - w / 2), rng.uniform(h / 2, HEIGHT - h / 2)
        boxes.append(
            {
                "x": round(cx, 1),
                "y": round(cy, 1),
                "width": round(w, 1),
                "height": round(h, 1),
                "class": rng.choice(CLASSES),
                "confidence": round(rng.uniform(0.05, 0.99), 3),
            }
        )
    return {"predictions": boxes}


def fill_project(url: str, key: str, count: int, threads: int) -> list[str]:
    """Upload ``count`` frames from ``threads`` threads; return the image ids in upload order."""
    local = threading.local()
    clients: list[Client] = []
    lock = threading.Lock()

    def upload(index: int) -> str:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = Client(url, key)
            with lock:
                clients.append(client)
        rng = random.Random(index)
        rule = rng.choice(list(RULES))
        result = client.upload_image(
            PROJECT,
            make_jpeg(index),
            name=f"frame-{index:05d}.jpg",
            predictions=make_predictions(rng),
            sampling_rule=rule,
            model_version=str(rng.randint(1, 3)),
            metadata={"rule_kind": RULES[rule]},
            tags=rng.sample(TAGS, rng.randint(0, 3)),
        )
        assert not result.duplicate, f"frame {index} was merged with another one"
        return result.id

    try:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(upload, range(count)))
    finally:
        for client in clients:
            client.close()


def sign_in(url: str, key: str, reviewer: str = "Bench Reviewer") -> httpx.Client:
    """Sign in through the login form like a browser; return a client holding the session cookie."""
    client = httpx.Client(base_url=url, headers={"Accept": "text/html"}, timeout=60)
    form = client.get("/ui/login")
    form.raise_for_status()
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
    assert token is not None, "no login_csrf field in the sign-in form"
    done = client.post(
        "/ui/login",
        data={"api_key": key, "reviewer": reviewer, "login_csrf": html.unescape(token[1]), "next": "/ui/"},
    )
    assert done.status_code == 303, (done.status_code, done.text[:300])
    assert client.cookies.get("framescout_session"), "no session cookie after sign-in"
    return client


def review_state(client: httpx.Client, image_id: str) -> dict[str, Any]:
    page = client.get(f"/ui/p/{SLUG}/images/{image_id}")
    page.raise_for_status()
    found = STATE.search(page.text)
    assert found is not None, "no review-state script in the review page"
    state: dict[str, Any] = json.loads(found[1])
    return state


def review_body(state: dict[str, Any]) -> dict[str, Any]:
    """What a reviewer would save: the confident pre-labels as ground truth."""
    keep = [b for b in state["boxes"] if (b["confidence"] or 1) >= 0.5] or state["boxes"][:1]
    boxes = [{k: b[k] for k in ("class", "x_min", "y_min", "x_max", "y_max")} for b in keep]
    return {"status": "reviewed", "boxes": boxes}


def save_review(client: httpx.Client, csrf: str, image_id: str, body: dict[str, Any]) -> httpx.Response:
    response = client.post(
        f"/ui/p/{SLUG}/images/{image_id}/review",
        json=body,
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    response.raise_for_status()
    assert "next_url" in response.json()
    return response


def mark_reviewed(url: str, session: httpx.Client, ids: list[str], threads: int) -> None:
    """Review ``ids`` through the UI: read each review page's state, save its confident boxes."""
    cookies = dict(session.cookies.items())
    local = threading.local()
    clients: list[httpx.Client] = []
    lock = threading.Lock()

    def review(image_id: str) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=url, cookies=cookies, timeout=60)
            with lock:
                clients.append(client)
        state = review_state(client, image_id)
        save_review(client, state["csrf"], image_id, review_body(state))

    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(review, ids))
    finally:
        for client in clients:
            client.close()


def timed(call: Callable[[int], httpx.Response], reps: int, warmup: int) -> tuple[list[float], int]:
    """Run ``call(i)`` ``warmup`` then ``reps`` times; return the timed milliseconds and last body size."""
    for i in range(warmup):
        call(i).raise_for_status()
    times, size = [], 0
    for i in range(warmup, warmup + reps):
        start = time.perf_counter()
        response = call(i)
        elapsed = (time.perf_counter() - start) * 1000
        response.raise_for_status()
        times.append(elapsed)
        size = len(response.content)
    return times, size


def load_grid(url: str, cookies: dict[str, str], page: int, connections: int) -> tuple[float, list[float]]:
    """One browser page, then its thumbnails over ``connections`` parallel connections.

    Returns (wall ms for page + every thumbnail, per-thumbnail ms)."""
    clients = [
        httpx.Client(base_url=url, cookies=cookies, headers={"Accept": "text/html"}, timeout=60)
        for _ in range(connections)
    ]
    try:
        for client in clients:  # open the connections first, as a browser already has them
            client.get("/healthz").raise_for_status()
        free = list(clients)
        lock = threading.Lock()

        def fetch(path: str) -> float:
            with lock:
                client = free.pop()
            try:
                start = time.perf_counter()
                response = client.get(path)
                response.raise_for_status()
                assert response.headers["content-type"] == "image/jpeg"
                return (time.perf_counter() - start) * 1000
            finally:
                with lock:
                    free.append(client)

        start = time.perf_counter()
        browser = clients[0].get(f"/ui/p/{SLUG}/images", params={"page": page})
        browser.raise_for_status()
        paths = THUMB.findall(browser.text)
        with ThreadPoolExecutor(connections) as pool:
            each = list(pool.map(fetch, paths))
        wall = (time.perf_counter() - start) * 1000
        assert len(paths) == 48, f"page {page} showed {len(paths)} thumbnails, expected 48"
        return wall, each
    finally:
        for client in clients:
            client.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=1000, help="frames in the project")
    parser.add_argument("--reps", type=int, default=20, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per endpoint first")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--upload-threads", type=int, default=4, help="concurrent uploaders (setup)")
    parser.add_argument("--reviewed", type=float, default=0.3, help="share of frames reviewed (setup)")
    parser.add_argument("--connections", type=int, default=6, help="parallel connections for the grid")
    parser.add_argument("--grids", type=int, default=5, help="browser pages loaded with their thumbnails")
    args = parser.parse_args()
    per_call = args.warmup + args.reps
    assert args.images >= 48 * (10 + args.grids) and args.images * (1 - args.reviewed) > 3 * per_call, (
        "too few images for distinct review pages, thumbnails, saves and grid pages"
    )

    rows: list[tuple[str, list[float], int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data", workers=args.workers)
        key = server.create_key(WORKSPACE)
        server.cli("projects", "create", PROJECT)
        with server:
            print(f"uploading {args.images} frames (640x480, 3-15 boxes each)...", flush=True)
            start = time.perf_counter()
            ids = fill_project(server.url, key, args.images, args.upload_threads)
            upload_s = time.perf_counter() - start
            session = sign_in(server.url, key)
            shuffled = random.Random(0).sample(ids, len(ids))
            n_reviewed = int(len(ids) * args.reviewed)
            reviewed, pending = shuffled[:n_reviewed], shuffled[n_reviewed:]
            print(f"reviewing {n_reviewed} frames through the UI...", flush=True)
            start = time.perf_counter()
            mark_reviewed(server.url, session, reviewed, args.upload_threads)
            review_s = time.perf_counter() - start

            page_ids, thumb_ids, save_ids = (
                pending[i * per_call : (i + 1) * per_call] for i in range(3)
            )  # fresh images for each endpoint that works on one image
            bodies = {i: review_body(review_state(session, i)) for i in save_ids}
            csrf = review_state(session, save_ids[0])["csrf"]
            base = f"/ui/p/{SLUG}"
            paths: list[tuple[str, Callable[[int], str]]] = [
                ("project list      /ui/", lambda i: "/ui/"),
                ("dashboard         /p/{project}", lambda i: base),
                ("browser page 1    /images", lambda i: f"{base}/images"),
                ("browser filtered  /images?...", lambda i: f"{base}/images?{FILTERED}"),
                ("browser page 10   /images?page=10", lambda i: f"{base}/images?page=10"),
                ("review page       /images/{id}", lambda i: f"{base}/images/{page_ids[i]}"),
                ("thumbnail         /{id}/thumbnail", lambda i: f"{base}/images/{thumb_ids[i]}/thumbnail"),
            ]
            cases: list[tuple[str, Callable[[int], httpx.Response]]] = [
                (name, lambda i, path=path: session.get(path(i))) for name, path in paths
            ]
            cases.append(
                (
                    "review save  POST /{id}/review",
                    lambda i: save_review(session, csrf, save_ids[i], bodies[save_ids[i]]),
                )
            )
            for name, call in cases:
                times, size = timed(call, args.reps, args.warmup)
                rows.append((name, times, size))
            filtered_total = re.search(
                r'id="result-count"><b>(\d+)</b>', session.get(f"/ui/p/{SLUG}/images?{FILTERED}").text
            )

            cookies = dict(session.cookies.items())
            load_grid(server.url, cookies, 1, args.connections)  # warm-up
            grids = [load_grid(server.url, cookies, 11 + g, args.connections) for g in range(args.grids)]
            # The same pages again: thumbnails now come from the server's disk cache (another reviewer,
            # or the same one with a cold browser cache).
            revisits = [load_grid(server.url, cookies, 11 + g, args.connections) for g in range(args.grids)]
            session.close()

    print()
    print(
        f"CPUs {os.cpu_count()}, server workers {args.workers}, {args.images} frames "
        f"({n_reviewed} reviewed through the UI); setup: upload {upload_s:.1f} s, reviews {review_s:.1f} s"
    )
    matched = filtered_total[1] if filtered_total else "?"
    print(f"filtered = ?{FILTERED} ({matched} frames match); {args.reps} timed requests after {args.warmup}")
    print()
    print(f"{'request':<38} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'body KB':>8}")
    for name, times, size in rows:
        print(
            f"{name:<38} {np.median(times):10.1f} {np.percentile(times, 95):8.1f} "
            f"{max(times):8.1f} {size / 1024:8.1f}"
        )
    for label, runs in (("first view", grids), ("revisit, thumbnails cached on the server", revisits)):
        walls = [w for w, _ in runs]
        each = [t for _, ts in runs for t in ts]
        print()
        print(
            f"full grid (browser page + 48 thumbnails, {args.connections} connections), "
            f"{label}, {args.grids} pages:"
        )
        print(
            f"  wall   median {np.median(walls):7.1f} ms   max {max(walls):7.1f} ms"
            f"   ({48 * 1000 / np.median(walls):.0f} thumbnails/s)"
        )
        p50, p95 = np.median(each), np.percentile(each, 95)
        print(f"  per thumbnail under load: median {p50:6.1f} ms   p95 {p95:6.1f} ms")


if __name__ == "__main__":
    main()
