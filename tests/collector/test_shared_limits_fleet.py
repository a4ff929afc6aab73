"""Two real `framescout collect` processes over real frames (COCO images, the NanoDet model) with one
rule limited to N frames a minute: with ``storage: redis://…`` (a real redis-server) they keep N in
total, with ``memory://`` N each, so the shared test can fail."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import services
from helpers import framescout

N = 4
FRAMES = 12


def run_pair(storage: str, coco_tiny: Path, nanodet_path: Path, tmp_path: Path, project: str) -> list[int]:
    """Both collectors at once, each over its own copy of the source; the frames each kept."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"storage: {storage}\nrules:\n  - {{name: all, type: random, probability: 1.0, limits: {N}/minute}}\n"
    )

    def collect(device: str) -> int:
        out = tmp_path / device
        done = framescout(
            "collect", "--source", str(coco_tiny / "val2017"), "--max-frames", str(FRAMES),
            "--model", str(nanodet_path), "--classes", str(nanodet_path.parent / "coco.names"),
            "--rules", str(rules), "--project", project, "--device-id", device,
            "--dry-run", str(out), "--spool", str(tmp_path / f"spool-{device}"),
        )  # fmt: skip
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
        summary = re.search(r"(\d+) frame\(s\) seen, (\d+) kept", done.stdout)
        assert summary and int(summary[1]) == FRAMES, done.stdout
        written = len(list(out.glob("*.json")))
        assert written == int(summary[2]), (written, done.stdout)  # every kept frame written
        return written

    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        counts = list(pool.map(collect, ["cam-1", "cam-2"]))
    assert time.monotonic() - started < 60, "the runs took over a minute: a second window began"
    return counts


@pytest.mark.slow
def test_two_collectors_share_a_redis_limit(
    redis: services.Redis, coco_tiny: Path, nanodet_path: Path, tmp_path: Path
) -> None:
    import redis as redis_client  # the redis extra (in dev)

    project = f"acme/cams-{uuid.uuid4().hex[:8]}"
    counts = run_pair(redis.url, coco_tiny, nanodet_path, tmp_path, project)
    assert sum(counts) == N, counts  # N in total, not 2N
    client = redis_client.Redis(port=redis.port, decode_responses=True)
    try:  # the counter is the project's own (the collectors' --project names it)
        assert [str(k) for k in client.keys(f"*{project}*")] == [
            f"LIMITS:LIMITER/framescout:{project}:rule:all:{N}/minute/{N}/1/minute"
        ]
    finally:
        client.close()


@pytest.mark.slow
def test_two_collectors_with_memory_storage_keep_n_each(
    coco_tiny: Path, nanodet_path: Path, tmp_path: Path
) -> None:
    assert run_pair("memory://", coco_tiny, nanodet_path, tmp_path, "acme/cams") == [N, N]


def test_collect_without_the_redis_package_says_how_to_install_it(tmp_path: Path) -> None:
    """One line and exit 1 before anything is read, never a traceback at the first kept frame."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("storage: redis://:pw@cache:6379\nrules:\n  - {type: random, probability: 1.0}\n")
    args = ["framescout", "collect", "--source", str(tmp_path), "--model", str(tmp_path / "m.onnx")]
    code = (
        "import sys; sys.modules['redis'] = None; "  # as if `pip install 'framescout[redis]'` never ran
        f"sys.argv = {[*args, '--rules', str(rules)]!r}; from framescout.cli import main; main()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    message = " ".join(done.stderr.split())
    assert message == (
        "error: storage redis://:***@cache:6379 needs the redis Python package: "
        "pip install 'framescout[redis]'"
    )
