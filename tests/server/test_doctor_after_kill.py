"""A real two-worker server killed with -9 in the middle of concurrent upload bursts — its workers one
at a time, again and again (the supervisor starts new ones), then the whole server, over two rounds —
then ``framescout doctor --fix --grace 0``: the store is healthy, no orphan blob or temp file is left,
every image row's blob exists, and every upload the server acknowledged is stored."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from framescout.server.process import ServerProcess
from helpers import framescout

pytestmark = pytest.mark.slow

THREADS = 6
ROUNDS = 2
WORKER_KILLS = 12  # per round


def noise_jpeg(seed: int) -> bytes:
    """A real photo-sized JPEG (noise compresses badly: ~100 KB, so blob writes take a while)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (the server's workers and their helpers), from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        children = [p for p, parent in parents.items() if parent == current]
        found += children
        frontier += children
    return found


def workers(server: ServerProcess) -> list[int]:
    """The worker processes (multiprocessing children running the app) of a running server."""
    assert server._proc is not None
    found = []
    for pid in descendants(server._proc.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(pid)
    return found


def kill_hard(server: ServerProcess) -> None:
    """kill -9 the workers first (they hold the transactions), then the supervisor."""
    proc = server._proc
    assert proc is not None
    for pid in descendants(proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    server._proc = None


def wait_for_uploads(acknowledged: set[str], lock: threading.Lock, at_least: int) -> None:
    """Let the bursts get going before the kills start (a loaded machine is slow to the first 201)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with lock:
            if len(acknowledged) >= at_least:
                return
        time.sleep(0.1)


def test_kill_during_upload_bursts_then_doctor_fix(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data, workers=2)
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/burst")
    acknowledged: set[str] = set()
    lock = threading.Lock()
    counter = iter(range(10**6))

    def uploader(stop: threading.Event, url: str) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            while not stop.is_set():
                with lock:
                    seed = next(counter)
                body = noise_jpeg(seed)
                try:
                    answer = client.post(
                        "/api/v1/projects/acme/burst/images",
                        files={"file": (f"{seed}.jpg", body, "image/jpeg")},
                    )
                except httpx.TransportError:  # a killed worker's connection, or the server gone
                    time.sleep(0.05)
                    continue
                if answer.status_code == 201:
                    with lock:
                        acknowledged.add(answer.json()["sha256"])

    for round_ in range(ROUNDS):
        server.start()
        stop = threading.Event()
        threads = [threading.Thread(target=uploader, args=(stop, server.url)) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        rng = np.random.default_rng(round_)
        wait_for_uploads(acknowledged, lock, at_least=len(acknowledged) + 5)
        killed = 0
        while killed < WORKER_KILLS:
            time.sleep(float(rng.uniform(0.2, 0.6)))
            alive = workers(server)
            if alive:
                os.kill(alive[int(rng.integers(len(alive)))], signal.SIGKILL)
                killed += 1
        time.sleep(1.0)
        kill_hard(server)  # and finally the whole server, while every thread is mid-upload
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert len(acknowledged) >= 20, "the bursts uploaded too little to mean anything"

    before = framescout("doctor", str(data), "--json", "--grace", "0")
    assert before.returncode in (0, 1), before.stderr
    found = json.loads(before.stdout)
    assert found["database"]["ok"], found["database"]
    assert found["missing"] == []  # a kill never loses the bytes of a committed row

    fixed = framescout("doctor", str(data), "--fix", "--grace", "0")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    after = framescout("doctor", str(data), "--json")
    assert after.returncode == 0, after.stdout
    report = json.loads(after.stdout)
    assert report["healthy"] and report["orphans"] == [] and report["temp_files"] == []
    assert report["missing"] == []

    conn = sqlite3.connect(data / "framescout.db")
    rows = {sha for (sha,) in conn.execute("SELECT sha256 FROM images")}
    conn.close()
    assert acknowledged <= rows  # every acknowledged upload was committed
    for sha in rows:
        assert (data / "blobs" / sha[:2] / sha[2:4] / sha).is_file(), sha
    stored = {p.name for p in (data / "blobs").glob("??/??/*")}
    assert stored == rows  # and nothing but them
    kills = f"{ROUNDS * WORKER_KILLS} worker kills + {ROUNDS} server kills"
    left = f"orphans {len(found['orphans'])}, temp files {len(found['temp_files'])}"
    print(f"{kills}: acknowledged {len(acknowledged)}, rows {len(rows)}; before the fix: {left}")
