"""When a recorded video started, so that its frames get absolute times (the sampler's clock and the
kept frames' ``observed_at``): the time the user gives, else the MP4/MOV header's creation time,
else the file's modification time minus its duration (a recorder finishes the file when it stops)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MP4_EPOCH = -2_082_844_800
"""1904-01-01T00:00:00Z, the epoch of ISO BMFF (MP4, MOV) times, in Unix seconds."""
EARLIEST = 86_400.0
"""Header times before 1970-01-02 are placeholders (muxers write 0 when they know no time)."""
MP4_SUFFIXES = {".mp4", ".mov", ".m4v", ".3gp"}


@dataclass(frozen=True)
class RecordingStart:
    """A recording's start in Unix seconds and where that time came from (said to the user)."""

    at: float
    origin: str


def recording_start(path: Path, duration: float | None, given: float | None = None) -> RecordingStart:
    """The start of the recording in ``path``; ``duration`` (seconds) for the modification-time rule."""
    if given is not None:
        return RecordingStart(given, "--start-time")
    created = mp4_creation_time(path) if path.suffix.lower() in MP4_SUFFIXES else None
    if created is not None:
        return RecordingStart(created, "the file's MP4 creation time")
    modified = path.stat().st_mtime
    if duration:
        return RecordingStart(modified - duration, "the file's modification time minus its duration")
    return RecordingStart(modified, "the file's modification time")


def mp4_creation_time(path: Path) -> float | None:
    """``creation_time`` of the movie header (``moov/mvhd``) in Unix seconds, or ``None`` when the
    file has no such header, a placeholder time, or is not an ISO BMFF file at all."""
    try:
        with path.open("rb") as f:
            size = path.stat().st_size
            for kind, start, length in _boxes(f, 0, size):
                if kind != b"moov":
                    continue
                for inner, at, _ in _boxes(f, start + 8, start + length):
                    if inner == b"mvhd":
                        return _mvhd_time(f, at)
                return None
    except (OSError, struct.error, IndexError):
        return None
    return None


def _boxes(f: BinaryIO, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, offset, size) of the boxes laid end to end in ``[start, end)``; stops at a bad size."""
    found: list[tuple[bytes, int, int]] = []
    offset = start
    while offset + 8 <= end and len(found) < 10_000:
        f.seek(offset)
        header = f.read(8)
        if len(header) < 8:
            break
        length, kind = struct.unpack(">I4s", header)
        if length == 1:
            length = struct.unpack(">Q", f.read(8))[0]
        elif length == 0:
            length = end - offset
        if length < 8 or offset + length > end:
            break
        found.append((kind, offset, length))
        offset += length
    return found


def _mvhd_time(f: BinaryIO, at: int) -> float | None:
    f.seek(at + 8)
    version = f.read(4)[0]
    raw = struct.unpack(">Q", f.read(8))[0] if version == 1 else struct.unpack(">I", f.read(4))[0]
    unix = raw + MP4_EPOCH
    return float(unix) if unix >= EARLIEST else None
