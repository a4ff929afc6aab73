"""Frame sources: an image folder, a video file, a camera index, or an RTSP/HTTP stream (OpenCV).

Every source yields `SourceFrame`s and counts what it skipped. A frame's ``timestamp`` is the
clock the sampler runs on: for a video file, the video's own time (the recording's start plus frame
index / fps, see `recording.py`), so quotas, limits and ``fps`` give the same frames however fast the
machine is; for cameras, streams and image folders, the wall clock when the frame was read (a
folder's order is its names' order, not time order, and its file times are often copy times).
``every`` keeps one frame in N; ``fps`` caps the rate (frames arriving faster are skipped, not
queued). Live streams reconnect with exponential backoff when they drop; files simply end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from framescout.collector.recording import RecordingStart, recording_start
from framescout.imaging import ImageError, read_image_file, to_bgr
from framescout.selection.folder import list_images

log = logging.getLogger("framescout.collector")
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


@dataclass(frozen=True)
class SourceFrame:
    """One frame: BGR pixels, a name (file name or frame number) and when it was observed."""

    image: NDArray[np.uint8]
    name: str
    index: int
    timestamp: float
    """Unix seconds: the recording's start + ``media_time`` for a video file, else when it was read."""
    media_time: float | None = None
    """Seconds into a video file (``None`` for live sources and folders)."""


@dataclass
class SourceStats:
    read: int = 0
    yielded: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    reconnects: int = 0

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


class Source:
    """Iterate frames from ``spec``: a folder, an image or video file, a camera index ("0"), or a URL."""

    def __init__(
        self,
        spec: str,
        *,
        every: int = 1,
        fps: float | None = None,
        reconnect: bool = True,
        max_reconnect_delay: float = 30.0,
        max_reconnects: int | None = None,
        start_time: float | None = None,
    ) -> None:
        """``start_time`` (Unix seconds) is when a video file's recording started; by default its MP4
        creation time, else its modification time minus its duration."""
        if every < 1:
            raise ValueError("every must be at least 1")
        if fps is not None and fps <= 0:
            raise ValueError("fps must be positive")
        self.spec, self.every, self.fps = spec, every, fps
        self.reconnect, self.max_reconnect_delay, self.max_reconnects = (
            reconnect,
            max_reconnect_delay,
            max_reconnects,
        )
        self.stats = SourceStats()
        path = Path(spec)
        if spec.isdigit():
            self.kind = "camera"
        elif "://" in spec:
            self.kind = "stream"
        elif path.is_dir():
            self.kind = "folder"
        elif path.is_file():
            self.kind = "video" if path.suffix.lower() in VIDEO_SUFFIXES else "image"
        else:
            raise ValueError(f"source {spec!r} is not a folder, file, camera index or stream URL")
        if start_time is not None and self.kind != "video":
            raise ValueError(
                f"a start time applies to video files only; {spec!r} is "
                f"{'an image' if self.kind == 'image' else 'a ' + self.kind}, "
                "whose frames are stamped with the wall clock"
            )
        self.start: RecordingStart | None = None
        """When a video file's recording started (``None`` for other sources, or a video whose frame
        rate is unknown: its frames then run on the wall clock too)."""
        self.duration: float | None = None
        """A video file's length in seconds, when its header says (frame count / fps)."""
        if self.kind == "video":
            capture = cv2.VideoCapture(spec)
            try:
                rate, count = capture.get(cv2.CAP_PROP_FPS), capture.get(cv2.CAP_PROP_FRAME_COUNT)
            finally:
                capture.release()
            if rate and rate > 0:
                self.duration = count / rate if count and count > 0 else None
                self.start = recording_start(path, self.duration, start_time)

    @property
    def clock(self) -> str:
        """``"video"`` when frames carry the video's own time, ``"wall"`` otherwise."""
        return "video" if self.start is not None else "wall"

    def __iter__(self) -> Iterator[SourceFrame]:
        raw = self._folder() if self.kind in ("folder", "image") else self._capture()
        last = float("-inf")
        for frame in raw:
            self.stats.read += 1
            if (frame.index % self.every) != 0:
                self.stats.skip("every")
                continue
            if self.fps is not None:
                now = frame.media_time if frame.media_time is not None else time.monotonic()
                if now - last < 1.0 / self.fps:
                    self.stats.skip("fps")
                    continue
                last = now
            self.stats.yielded += 1
            yield frame

    def _folder(self) -> Iterator[SourceFrame]:
        files = [Path(self.spec)] if self.kind == "image" else list_images(Path(self.spec))
        for index, path in enumerate(files):
            try:
                image = to_bgr(read_image_file(path))
            except ImageError as exc:
                self.stats.skip("unreadable")
                log.warning("skipping %s: %s", path, exc)
                continue
            yield SourceFrame(image, path.name, index, time.time())

    def _open(self) -> cv2.VideoCapture:
        target: int | str = int(self.spec) if self.kind == "camera" else self.spec
        return cv2.VideoCapture(target)

    def _capture(self) -> Iterator[SourceFrame]:
        live = self.kind in ("camera", "stream")
        index, failures = 0, 0
        capture = self._open()
        video_fps = capture.get(cv2.CAP_PROP_FPS) if self.kind == "video" else 0.0
        start = self.start.at if self.start is not None else None
        try:
            while True:
                ok, image = capture.read() if capture.isOpened() else (False, None)
                if ok and image is not None and image.size:
                    failures = 0
                    media_time = index / video_fps if video_fps and video_fps > 0 else None
                    stamp = start + media_time if start is not None and media_time is not None else None
                    yield SourceFrame(
                        np.ascontiguousarray(image),
                        f"frame-{index:06d}",
                        index,
                        time.time() if stamp is None else stamp,
                        media_time,
                    )
                    index += 1
                    continue
                if not live or not self.reconnect:
                    if not capture.isOpened():
                        raise ValueError(f"cannot open {self.spec}")
                    return
                if self.max_reconnects is not None and failures >= self.max_reconnects:
                    log.warning("giving up on %s after %d reconnects", self.spec, failures)
                    return
                delay = min(self.max_reconnect_delay, 0.5 * 2**failures)
                failures += 1
                self.stats.reconnects += 1
                log.warning("%s dropped; reconnecting in %.1f s", self.spec, delay)
                capture.release()
                time.sleep(delay)
                capture = self._open()
        finally:
            capture.release()
