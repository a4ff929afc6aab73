"""Real streams with real scene cuts, for the novelty rules: frames of ``people.mp4`` (a steady street
camera, 1920x1080), then frames of ``soccer.mp4`` (another scene, scaled to 1920x1080), then people
again; and ``soccer.mp4`` itself, a broadcast with two cuts of its own (a wipe to a blurred pitch at
frame 274, a cut to a close-up at 543). Decoded once per session; tests skip when ../shared is
missing."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from conftest import SHARED, require_shared

VIDEOS = SHARED / "data" / "videos"
PEOPLE, SOCCER = 60, 30
"""Frames taken from each video: people 0-59, soccer 0-29, people 60-89."""


@dataclass(frozen=True)
class CutStream:
    frames: tuple[NDArray[np.uint8], ...]
    cuts: tuple[int, ...]
    """Indexes of the first frame of each new scene (people -> soccer, soccer -> people)."""


BROADCAST_START = 230
BROADCAST_CUTS = (274 - BROADCAST_START, 543 - BROADCAST_START)
"""Where soccer.mp4's own cuts fall in `broadcast` (frames 230-599, seen by eye)."""


def read_frames(path: Path, count: int, start: int = 0, full_hd: bool = True) -> list[NDArray[np.uint8]]:
    capture = cv2.VideoCapture(str(require_shared(path)))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    frames: list[NDArray[np.uint8]] = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        if full_hd and frame.shape[:2] != (1080, 1920):
            frame = cv2.resize(frame, (1920, 1080), interpolation=cv2.INTER_LINEAR)
        frames.append(np.asarray(frame, dtype=np.uint8))
    capture.release()
    assert len(frames) == count, f"{path} has fewer than {start + count} frames"
    return frames


@cache
def _stream() -> CutStream:
    people = read_frames(VIDEOS / "people.mp4", PEOPLE + SOCCER)
    soccer = read_frames(VIDEOS / "soccer.mp4", SOCCER)
    frames = (*people[:PEOPLE], *soccer, *people[PEOPLE:])
    return CutStream(frames, (PEOPLE, PEOPLE + SOCCER))


def cut_stream() -> CutStream:
    """The people / soccer / people stream (skips the test when ../shared is missing)."""
    require_shared(VIDEOS / "people.mp4")
    require_shared(VIDEOS / "soccer.mp4")
    return _stream()


@cache
def _broadcast() -> tuple[NDArray[np.uint8], ...]:
    return tuple(read_frames(VIDEOS / "soccer.mp4", 600 - BROADCAST_START, BROADCAST_START, full_hd=False))


def broadcast() -> tuple[NDArray[np.uint8], ...]:
    """soccer.mp4's frames 230-599 at their own 852x480 (skips the test when ../shared is missing)."""
    require_shared(VIDEOS / "soccer.mp4")
    return _broadcast()
