"""A video file runs the sampler on the video's own time: quotas, per-minute limits and the kept
frames' ``observed_at`` follow frame index / fps from the recording's start, however fast or slow
the model is. Videos are written with OpenCV here; the model is a small real ONNX graph."""

from __future__ import annotations

import json
import os
import struct
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from framescout import Predictions
from framescout.collector import Collector, FolderTransport, Source
from framescout.collector.recording import MP4_EPOCH, mp4_creation_time
from framescout.sampling import RandomSample, Sampler, TimeQuota, load_config
from helpers import framescout
from onnx_graphs import constant_model, yolov8

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z: a whole number of minutes, so quota windows align
SECONDS = 180  # three minutes of video at 1 fps


def write_video(path: Path, frames: int, fps: float, fourcc: str = "MJPG") -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), fps, (32, 24))
    for i in range(frames):
        writer.write(np.full((24, 32, 3), (i * 7) % 256, np.uint8))
    writer.release()
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("clock") / "clip.avi", SECONDS, 1.0)


def kept_frames(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def test_a_video_files_frames_carry_the_videos_own_time(clip: Path) -> None:
    frames = list(Source(str(clip), start_time=START))
    assert [f.timestamp for f in frames] == [START + i for i in range(SECONDS)]
    assert [f.media_time for f in frames] == [float(i) for i in range(SECONDS)]


def test_without_a_start_time_a_recording_ends_at_its_modification_time(clip: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.avi"
    copy.write_bytes(clip.read_bytes())
    os.utime(copy, (START, START))
    source = Source(str(copy))
    assert source.start is not None and source.clock == "video"
    assert (
        source.start.at == START - SECONDS and "modification time minus its duration" in source.start.origin
    )
    assert next(iter(source)).timestamp == START - SECONDS


def test_an_mp4_header_creation_time_is_the_recordings_start(tmp_path: Path) -> None:
    """OpenCV writes a placeholder (0) creation time; a camera writes the real one: set it in the
    header as `ffmpeg -metadata creation_time=...` would, and it wins over the file's mtime."""
    video = write_video(tmp_path / "cam.mp4", 10, 5.0, "mp4v")
    assert mp4_creation_time(video) is None  # the placeholder is not taken for 1904
    data = bytearray(video.read_bytes())
    at = data.index(b"mvhd")
    assert data[at + 4] == 0  # version 0: 32-bit times follow the version and flags
    data[at + 8 : at + 12] = struct.pack(">I", int(START) - MP4_EPOCH)
    video.write_bytes(bytes(data))
    assert mp4_creation_time(video) == START
    source = Source(str(video))
    assert source.start is not None and source.start.origin == "the file's MP4 creation time"
    assert [f.timestamp for f in source] == [START + i / 5 for i in range(10)]
    # Not an MP4 at all, or cut short: no time, no exception.
    (tmp_path / "junk.mp4").write_bytes(b"\x00\x00\x00\x10moov\x00\x00\x00\x0cmvhd\x01")
    assert mp4_creation_time(tmp_path / "junk.mp4") is None
    (tmp_path / "text.mp4").write_text("hello")
    assert mp4_creation_time(tmp_path / "text.mp4") is None


def test_folders_and_single_images_stay_on_the_wall_clock(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    before = time.time()
    source = Source(str(tmp_path))
    assert source.clock == "wall" and source.start is None
    assert before <= next(iter(source)).timestamp <= time.time()
    with pytest.raises(ValueError, match="video files only"):
        Source(str(tmp_path), start_time=START)


def test_the_same_video_keeps_the_same_frames_however_slow_the_model(clip: Path, tmp_path: Path) -> None:
    def run(out: Path, pause: float) -> list[tuple[str, float]]:
        sampler = Sampler(
            [TimeQuota(1, 60, name="quota"), RandomSample(1.0, name="sampled", limits={"per_minute": 2})],
            seed=3,
        )
        spool = tmp_path / f"spool-{out.name}"
        with Collector(rules=sampler, transport=FolderTransport(out), spool_dir=spool) as collector:
            for frame in Source(str(clip), start_time=START):
                time.sleep(pause)  # the model's time between frames
                collector.observe(
                    frame.image, Predictions.empty(), name=frame.name, timestamp=frame.timestamp
                )
            assert collector.flush(30)
        return [(m["name"], m["metadata"]["observed_at"]) for m in kept_frames(out)]

    fast, slow = run(tmp_path / "fast", 0.0), run(tmp_path / "slow", 0.01)
    assert fast == slow and len(fast) == 9  # 3 by the quota, 6 by 2/minute, in 3 minutes of video


def test_collect_on_a_recording_keeps_the_quota_and_per_minute_limits_of_video_time(
    clip: Path, tmp_path: Path
) -> None:
    """The issue's case: on the wall clock, a 3-minute clip processed in a second kept 0-1 quota frames
    and 2 limited ones; on video time it keeps what a live camera would have kept in 3 minutes."""
    model = constant_model(tmp_path / "model.onnx", yolov8())  # one box at 0.9 on every frame
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - {name: minute-quota, type: quota, count: 1, every: 1m}\n"
        "  - {name: sampled, type: random, probability: 1.0, limits: {per_minute: 2}}\n"
    )
    out = tmp_path / "kept"
    done = framescout(
        "collect", "--source", str(clip), "--model", str(model), "--rules", str(rules),
        "--dry-run", str(out), "--start-time", "2026-01-01T00:00:00Z", "--spool", str(tmp_path / "spool"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    text = " ".join(done.stdout.split())
    assert "clock: the video's own time, from 2026-01-01T00:00:00Z (--start-time" in text
    assert "spans more than" not in text  # 1-minute windows fit in the clip
    kept = kept_frames(out)
    by_rule = Counter(m["rule"] for m in kept)
    assert by_rule == {"minute-quota": 3, "sampled": 6}, by_rule
    seconds: dict[str, list[Any]] = {m["rule"]: [] for m in kept}
    for meta in kept:
        index = int(meta["name"].removeprefix("frame-"))
        assert meta["metadata"]["observed_at"] == START + index
        seconds[meta["rule"]].append(index)
    assert [t // 60 for t in seconds["minute-quota"]] == [0, 1, 2]  # one in each minute of the recording
    sampled = seconds["sampled"]
    assert all(b - a >= 60 for a, b in zip(sampled, sampled[2:], strict=False))  # 2 in any 60 s
    assert "180 frame(s) seen, 9 kept" in text


def test_a_bad_start_time_is_refused_naming_the_option(clip: Path, tmp_path: Path) -> None:
    model = constant_model(tmp_path / "model.onnx", yolov8())
    done = framescout(
        "collect", "--source", str(clip), "--model", str(model), "--start-time", "yesterday",
        "--dry-run", str(tmp_path / "out"),
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "--start-time: expected an ISO 8601 time" in " ".join(done.stderr.split())


# ----------------------------------------------------------------------------- real videos (../shared)
@pytest.fixture(scope="module")
def videos(coco_tiny: Path) -> Path:
    return coco_tiny.parent / "videos"


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"needs {path} (the ../shared videos); not present here")
    return path


def test_real_recordings_say_when_they_started(videos: Path) -> None:
    people = Source(str(require(videos / "people.mp4")))
    assert people.start is not None and people.start.origin == "the file's MP4 creation time"
    assert people.start.at == datetime(2025, 6, 26, 9, 34, 55, tzinfo=UTC).timestamp()
    soccer = Source(str(require(videos / "soccer.mp4")))  # a fragmented MP4 with a placeholder time
    assert soccer.start is not None and "modification time minus its duration" in soccer.start.origin
    assert soccer.start.at == pytest.approx((videos / "soccer.mp4").stat().st_mtime - 600 / 30)


def test_a_quota_of_2_every_5_seconds_on_people_mp4(videos: Path, nanodet_path: Path, tmp_path: Path) -> None:
    """people.mp4 is 248 frames at 24.7 fps (10 s): two 5-second windows of video time, 2 frames in
    each, the frames a replay of the rules on video time picks (however fast NanoDet ran)."""
    video = require(videos / "people.mp4")
    rules = tmp_path / "rules.yaml"
    rules.write_text("seed: 11\nrules:\n  - {name: spread, type: quota, count: 2, every: 5s}\n")
    out = tmp_path / "kept"
    done = framescout(
        "collect", "--source", str(video), "--model", str(nanodet_path), "--rules", str(rules),
        "--classes", str(nanodet_path.parent / "coco.names"), "--dry-run", str(out),
        "--start-time", "2026-01-01T00:00:00Z", "--spool", str(tmp_path / "spool"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "classes will be numbers" not in done.stderr
    rate = cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FPS)
    kept = kept_frames(out)
    indices = [int(m["name"].removeprefix("frame-")) for m in kept]
    offsets = [m["metadata"]["observed_at"] - START for m in kept]
    assert offsets == pytest.approx([i / rate for i in indices])
    assert [int(t // 5) for t in offsets] == [0, 0, 1, 1]
    replay = load_config(rules).build()
    expected = [i for i in range(248) if replay.decide(Predictions.empty(), timestamp=START + i / rate).keep]
    assert indices == expected


def test_a_quota_longer_than_the_recording_is_announced(clip: Path, tmp_path: Path) -> None:
    """'3 every 15 minutes' on a 3-minute clip keeps about 0.6 frames, as a live camera would: say so
    instead of letting an empty result look like a broken rule."""
    model = constant_model(tmp_path / "model.onnx", yolov8())
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: slow, type: quota, count: 3, every: 15m}\n")
    done = framescout(
        "collect", "--source", str(clip), "--model", str(model), "--rules", str(rules), "--max-frames", "3",
        "--dry-run", str(tmp_path / "out"), "--spool", str(tmp_path / "spool"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    text = " ".join(done.stdout.split())
    assert "note: quota slow (3 every 900 s) spans more than this 180 s recording: expect about 0.6" in text


def test_start_times_are_read_as_iso_8601_or_unix_seconds() -> None:
    from framescout.cli.collect import parse_start_time

    assert parse_start_time("2026-01-01T00:00:00Z") == START
    assert parse_start_time("2026-01-01T01:00:00+01:00") == START
    assert parse_start_time(str(int(START))) == START
    assert parse_start_time("2026-01-01 00:00") == datetime(2026, 1, 1).astimezone().timestamp()  # local
