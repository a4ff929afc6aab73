"""Frame features for the stream's novelty rules, and the running models they are judged against.

`FrameFeatures` turns one camera frame into a unit vector: the colour/texture descriptor
(`framescout.selection.ColorTexture`, no model) by default, or a user's ONNX image encoder
(`framescout.selection.OnnxEmbedder`). It runs on the inference thread, so a large frame is first
sampled down to the descriptor's own size (nearest neighbour, 128x128: it reads 16k of the 2 million
pixels of a 1920x1080 frame, where the descriptor's area filter reads them all and costs 5-20 ms); the
descriptor looks at histograms, which the sampling barely moves (steady frames stay within 0.002 of
each other, a cut is 0.9 away, measured on the shared videos).

Two running models, both pure NumPy and O(window x dim) per frame at most:

- `RecentFrames` (outliers, like Roboflow's ``identify_outliers``): the last ``window`` vectors and
  their mean direction. Ranking frames by cosine to the mean direction is ranking them by a von
  Mises-Fisher density fitted to the window (its log-density is ``kappa * mu . x`` plus a constant, for
  any ``kappa > 0``), so the rank needs no ``kappa``: a frame is as unusual as the share of recent
  frames that are at least as far from the mean as it is.
- `RunningScene` (changes, like ``identify_changes``): an exponential moving average of the vectors
  (the scene) and of the distance of each frame to it (mean and variance); a frame whose distance is
  far in the upper tail marks a change, and the model then restarts from that frame, so one cut is
  one change rather than a run of them while the average catches up.

This module imports `framescout.selection` only when a `FrameFeatures` is built (selection imports
sampling, not the other way round at import time).
"""

from __future__ import annotations

import json
import math
import threading
import weakref
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

Vector = NDArray[np.float32]

COLOR_TEXTURE = "color-texture"
"""The default descriptor's name in configurations."""


class _Embedder(Protocol):
    def embed(self, images: Any) -> NDArray[Any]: ...


class FrameFeatures:
    """A frame (BGR array, PIL image or path) to a unit-length feature vector.

    ``embedder`` is ``"color-texture"`` or the settings of an ONNX encoder: ``{"onnx": path, "size":
    [w, h], "channels": "rgb" | "bgr", "mean": [...], "std": [...], "output": name}`` (the keys of
    `OnnxEmbedder`). ``ValueError`` when the encoder cannot be loaded."""

    def __init__(self, embedder: str | Mapping[str, Any] = COLOR_TEXTURE) -> None:
        from framescout.imaging import to_bgr
        from framescout.selection.embedders import ColorTexture, OnnxEmbedder

        self._to_bgr = to_bgr
        self._embedder: _Embedder
        self._shrink_to: tuple[int, int] | None = None
        if isinstance(embedder, str):
            if embedder != COLOR_TEXTURE:
                raise ValueError(f"unknown embedder {embedder!r}; use {COLOR_TEXTURE!r} or {{onnx: path}}")
            descriptor = ColorTexture()
            self._embedder, self._shrink_to = descriptor, (descriptor.side, descriptor.side)
        else:
            settings = dict(embedder)
            path = settings.pop("onnx")
            for key in ("size", "mean", "std"):
                if key in settings:
                    settings[key] = tuple(settings[key])
            self._embedder = OnnxEmbedder(path, **settings)  # it resizes (bilinear) to its input itself
        self.dim = int(self(np.zeros((64, 64, 3), dtype=np.uint8)).shape[0])
        self._last: tuple[object, Vector] | None = None

    def of(self, frame: object, image: Any) -> Vector:
        """``image``'s vector, described once per ``frame`` however many rules ask (the last frame's
        vector is kept, and the frame with it; a frame object is new for every decision, so the cache
        cannot go stale)."""
        last = self._last  # one read and one write of a tuple: safe if two samplers share this
        if last is not None and last[0] is frame:
            return last[1]
        vector = self(image)
        self._last = (frame, vector)
        return vector

    def __call__(self, image: Any) -> Vector:
        """The frame's unit vector (the colour/texture descriptor sees the frame sampled down to its own
        size; an encoder resizes it to its input)."""
        bgr: NDArray[Any] = self._to_bgr(image)
        if self._shrink_to is not None:
            width, height = self._shrink_to
            if bgr.shape[0] > height or bgr.shape[1] > width:
                bgr = np.asarray(cv2.resize(bgr, (width, height), interpolation=cv2.INTER_NEAREST))
        vector = np.asarray(self._embedder.embed([bgr])[0], dtype=np.float32)
        return unit(vector)


_SHARED: weakref.WeakValueDictionary[str, FrameFeatures] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()


def shared_features(embedder: str | Mapping[str, Any] = COLOR_TEXTURE) -> FrameFeatures:
    """One `FrameFeatures` per embedder setting while some rule holds it, so that rules with the same
    features describe each frame once (and an ONNX encoder is loaded once)."""
    key = json.dumps(embedder, sort_keys=True, default=list)
    with _SHARED_LOCK:
        features = _SHARED.get(key)
        if features is None:
            features = FrameFeatures(embedder)
            _SHARED[key] = features
        return features


def unit(vector: NDArray[Any]) -> Vector:
    """``vector`` scaled to length 1 (a zero vector stays zero)."""
    norm = float(np.linalg.norm(vector))
    return np.asarray(vector / norm if norm > 0 else vector, dtype=np.float32)


@dataclass(frozen=True)
class Judgement:
    """How one frame compares with the running model (before the frame joins it)."""

    distance: float
    """Cosine distance (1 - cosine) to the model's centre: the window's mean direction or the scene."""
    tail: float
    """How rare that distance is: the share of recent frames at least as far (outliers) or the normal
    upper-tail probability of its z-score (changes). Small is unusual."""
    nearest: float
    """Cosine distance to the closest recent frame (outliers; changes: the distance to the scene): the
    ``min_distance`` floor is tested on it, so a frame like one just seen is never new."""
    warm: bool
    """Whether the model had seen enough frames to judge (no frame is kept while warming up)."""
    detail: str
    """The numbers behind ``tail``, for the rule's reason."""


class RecentFrames:
    """The last ``window`` vectors; judges a frame by its distance to their mean direction."""

    def __init__(self, window: int, warmup: int) -> None:
        self.window, self.warmup = window, warmup
        self._vectors: deque[Vector] = deque(maxlen=window)
        self._sum: NDArray[np.float64] | None = None

    def judge(self, vector: Vector) -> Judgement:
        """Compare ``vector`` with the recent frames, then add it to them."""
        count = len(self._vectors)
        if count < max(self.warmup, 1) or self._sum is None:
            self._add(vector)
            return Judgement(0.0, 1.0, 0.0, False, f"warming up ({count + 1} of {self.warmup} frames)")
        mean = unit(self._sum)
        recent = np.stack(self._vectors)
        spread = 1.0 - recent @ mean
        distance = 1.0 - float(vector @ mean)
        nearest = 1.0 - float((recent @ vector).max())
        as_far = int(np.count_nonzero(spread >= distance))
        self._add(vector)
        return Judgement(distance, as_far / count, nearest, True, f"{as_far} of the last {count} as far")

    def _add(self, vector: Vector) -> None:
        if self._sum is None:
            self._sum = np.zeros(vector.shape[0], dtype=np.float64)
        if len(self._vectors) == self.window:
            self._sum -= self._vectors[0]
        self._vectors.append(vector)
        self._sum += vector

    def reset(self) -> None:
        self._vectors.clear()
        self._sum = None


class RunningScene:
    """Moving averages of the scene's vector and of each frame's distance to it (mean, variance)."""

    def __init__(self, smoothing: float, warmup: int) -> None:
        self.smoothing, self.warmup = smoothing, warmup
        self._scene: NDArray[np.float64] | None = None
        self._mean = 0.0
        self._variance = 0.0
        self._seen = 0

    def judge(self, vector: Vector) -> Judgement:
        """Compare ``vector`` with the scene, then update the averages with it."""
        if self._scene is None:
            self._scene, self._seen = vector.astype(np.float64), 1
            return Judgement(0.0, 1.0, 0.0, False, f"warming up (1 of {self.warmup} frames)")
        distance = 1.0 - float(vector @ unit(self._scene))
        spread = math.sqrt(self._variance)
        z = (distance - self._mean) / max(spread, 1e-6)
        tail = 0.5 * math.erfc(z / math.sqrt(2.0))
        warm = self._seen >= self.warmup
        detail = f"z {z:.1f} over the running {self._mean:.4f} ± {spread:.4f}"
        alpha = self.smoothing if self._seen > 1 else 1.0  # the first distance seeds the mean
        gap = distance - self._mean
        self._mean += alpha * gap
        self._variance = (1.0 - alpha) * (self._variance + alpha * gap * gap)
        self._scene = (1.0 - self.smoothing) * self._scene + self.smoothing * vector
        self._seen += 1
        return Judgement(distance, tail, distance, warm, detail)

    def restart(self, vector: Vector) -> None:
        """A change was marked at ``vector``: the new scene starts from it (and warms up again)."""
        self.reset()
        self._scene, self._seen = vector.astype(np.float64), 1

    def reset(self) -> None:
        self._scene = None
        self._mean = 0.0
        self._variance = 0.0
        self._seen = 0
