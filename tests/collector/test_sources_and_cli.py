"""Sources (folder, video, dropping stream) and the `collect` / `spool` commands, end to end."""

from __future__ import annotations

import http.server
import itertools
import json
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from framescout.client import Client
from framescout.collector import Source
from framescout.server.process import ServerProcess
from helpers import framescout

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules"


@pytest.fixture(scope="module")
def video(coco_tiny: Path) -> Path:
    path = coco_tiny.parents[0] / "videos" / "people.mp4"
    if not path.exists():
        pytest.skip(f"needs {path}")
    return path


def test_folder_source_skips_corrupt_files(coco_tiny: Path, tmp_path: Path) -> None:
    for src in sorted((coco_tiny / "val2017").glob("*.jpg"))[:4]:
        shutil.copy(src, tmp_path / src.name)
    (tmp_path / "zz-broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    source = Source(str(tmp_path))
    frames = list(source)
    assert len(frames) == 4 and frames[0].image.ndim == 3
    assert source.stats.skipped == {"unreadable": 1}


def test_video_source_every_nth(video: Path) -> None:
    source = Source(str(video), every=10)
    frames = list(source)
    assert len(frames) == 25 and frames[0].image.shape == (1080, 1920, 3)  # 248 frames, one in ten
    assert source.stats.skipped["every"] == 223


def test_video_fps_cap_follows_video_time_not_processing_speed(video: Path) -> None:
    """people.mp4 is 248 frames at 24.7 fps (10 s): 2 frames per second of video, however slow we read."""
    fast = [f.index for f in Source(str(video), fps=2)]
    slow_source = Source(str(video), fps=2)
    slow = []
    for frame in slow_source:
        slow.append(frame.index)
        time.sleep(0.05)  # a slow model between frames must not change which frames are kept
    assert fast == slow
    assert 20 <= len(fast) <= 21 and fast[0] == 0
    gaps = {b - a for a, b in itertools.pairwise(fast)}
    assert gaps <= {12, 13}  # ~24.7 / 2 frames apart
    assert slow_source.stats.skipped["fps"] == 248 - len(slow)


def test_a_stream_that_never_answers_is_retried_then_given_up() -> None:
    source = Source("rtsp://127.0.0.1:9/none", max_reconnects=2, max_reconnect_delay=0.1)
    assert list(source) == []
    assert source.stats.reconnects == 2


def test_a_stream_that_drops_is_reconnected_and_the_loop_goes_on(tmp_path: Path) -> None:
    """A real HTTP stream: served whole twice (each end is a drop), then refused; both passes arrive."""
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 10, (160, 120))
    for i in range(12):
        writer.write(np.full((120, 160, 3), i * 20, np.uint8))
    writer.release()
    data, served = clip.read_bytes(), []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.append(self.path)
            if len(served) > 2:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "video/x-msvideo")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/clip.avi"
        source = Source(url, max_reconnects=1, max_reconnect_delay=0.05)
        frames = list(source)
    finally:
        server.shutdown()
    assert len(frames) == 24 and frames[0].image.shape == (120, 160, 3)
    assert source.stats.reconnects == 2 and len(served) == 3


def test_unknown_source_is_refused() -> None:
    with pytest.raises(ValueError, match="not a folder, file, camera index or stream URL"):
        Source("/no/such/thing")


def test_collect_people_video_into_a_real_server(video: Path, nanodet_path: Path, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server")
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/street")
    with server:
        result = framescout(
            "collect",
            "--source",
            str(video),
            "--model",
            str(nanodet_path),
            "--classes",
            str(nanodet_path.parent / "coco.names"),
            "--rules",
            str(EXAMPLES / "default.yaml"),
            "--server",
            server.url,
            "--api-key",
            key,
            "--project",
            "acme/street",
            "--spool",
            str(tmp_path / "spool"),
            "--every",
            "8",
            "--model-version",
            "1",
        )
        assert result.returncode == 0, result.stderr
        with Client(server.url, key) as client:
            images = list(client.iter_images("acme/street"))
            first = client.get_image("acme/street", images[0]["id"])
    assert "31 frame(s) seen" in result.stdout
    kept = int(result.stdout.split(" kept, ")[0].rsplit(" ", 1)[-1])
    assert kept == len(images) > 0
    assert Counter(i["sampling_rule"] for i in images)["low-confidence"] >= 1
    assert first["width"] == 1280 and first["model_version"] == "1"  # resized to the default max side
    assert len({i["name"] for i in images}) == len(images)


def test_offline_then_spool_push(coco_tiny: Path, nanodet_path: Path, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    result = framescout(
        "collect",
        "--source",
        str(coco_tiny / "val2017"),
        "--model",
        str(nanodet_path),
        "--classes",
        str(nanodet_path.parent / "coco.names"),
        "--spool",
        str(spool),
        "--max-frames",
        "20",
    )
    assert result.returncode == 0, result.stderr
    waiting = int(result.stdout.split("; ")[-1].split(" waiting")[0]) if "waiting" in result.stdout else 0
    status = framescout("spool", "status", "--spool", str(spool))
    assert status.returncode == 0 and status.stdout.startswith(f"{waiting} frame(s)")
    assert waiting > 0
    server = ServerProcess(tmp_path / "server")
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/later")
    with server:
        pushed = framescout(
            "spool",
            "push",
            "--spool",
            str(spool),
            "--server",
            server.url,
            "--api-key",
            key,
            "--project",
            "acme/later",
        )
        assert pushed.returncode == 0, pushed.stderr
        assert f"uploaded {waiting} new" in pushed.stdout
        again = framescout(
            "spool",
            "push",
            "--spool",
            str(spool),
            "--server",
            server.url,
            "--api-key",
            key,
            "--project",
            "acme/later",
        )
        assert "the spool is empty" in again.stdout
        with Client(server.url, key) as client:
            assert client.list_images("acme/later")["total"] == waiting


def test_collect_dry_run_writes_frames_and_sidecars(video: Path, nanodet_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "kept"
    result = framescout(
        "collect",
        "--source",
        str(video),
        "--model",
        str(nanodet_path),
        "--classes",
        str(nanodet_path.parent / "coco.names"),
        "--every",
        "25",
        "--max-side",
        "320",
        "--device-id",
        "cam-7",
        "--dry-run",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    jpgs, sidecars = sorted(out.glob("*.jpg")), sorted(out.glob("*.json"))
    assert jpgs and len(jpgs) == len(sidecars)
    assert "predictions" in sidecars[0].read_text()
    assert json.loads(sidecars[0].read_text())["device_id"] == "cam-7"
    first = cv2.imread(str(jpgs[0]))
    assert first is not None and first.shape[:2] == (180, 320)  # 1920x1080 resized to a 320 longer side


def test_collect_refuses_bad_arguments(tmp_path: Path, nanodet_path: Path) -> None:
    result = framescout("collect", "--source", str(tmp_path / "nope"), "--model", str(nanodet_path))
    assert result.returncode == 1 and "not a folder, file" in result.stderr
    result = framescout(
        "collect", "--source", str(tmp_path), "--model", str(nanodet_path), "--server", "http://x"
    )
    assert result.returncode == 1 and "--api-key" in result.stderr
    assert "Traceback" not in result.stderr


def test_novelty_skips_look_alike_frames_of_a_real_video(video: Path, tmp_path: Path) -> None:
    from framescout import Predictions
    from framescout.collector import Collector
    from framescout.sampling import parse_config

    config = parse_config(
        {
            "novelty": {"threshold": 0.9, "timeout_limit": 10},
            "rules": [{"type": "random", "probability": 1.0}],
        }
    )
    frames = list(Source(str(video), every=4))  # 62 frames, consecutive ones nearly identical
    with Collector(rules=config, spool_dir=tmp_path / "spool") as collector:
        for frame in frames:
            collector.observe(frame.image, Predictions.empty())
        collector.flush()
        status = collector.status()
    counts = status["rules"]["random"]
    skipped = counts["dropped"].get("similar_to_recent", 0)
    assert counts["kept"] == 62 and skipped > 30
    assert counts["queued"] == 62 - skipped >= 62 // 10  # the timeout refreshes at least every 10 frames
