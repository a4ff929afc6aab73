"""Keep frames that look new: outliers against the recent frames, and changes of scene.

Both rules describe the frame's pixels (`framescout.sampling.features.FrameFeatures`: colour/texture
by default, an ONNX encoder when given), so they need the image: `Sampler.decide(..., image=...)`,
which `Collector.observe` passes. A frame without an image (a prediction-only replay such as
``rules explain``) is not theirs to keep and leaves their model untouched.

They see every frame (`Rule.sees_every_frame`): the running model must learn the frames another rule
kept too. ``every`` describes one frame in ``every`` (the others are skipped, unkept and unlearned),
to cut the per-frame cost with a costly encoder; ``min_distance`` is a floor under the statistical
test, so that a steady camera, whose frames differ by a hair, keeps nothing even though some frame is
always the farthest of its window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from framescout.sampling.features import (
    COLOR_TEXTURE,
    Judgement,
    RecentFrames,
    RunningScene,
    Vector,
    shared_features,
)
from framescout.sampling.frame import Frame
from framescout.sampling.rules.base import Rule

EmbedderSpec = str | Mapping[str, Any]


class _Model(Protocol):
    def judge(self, vector: Vector) -> Judgement: ...
    def reset(self) -> None: ...


class _FeatureRule(Rule):
    """What both novelty rules share: the features, the stride, the floor and the test. ``warmup`` and
    ``percentile`` default to each rule's ``default_warmup`` and ``default_percentile``."""

    sees_every_frame = True

    default_warmup = 8
    default_percentile = 0.01

    def __init__(
        self,
        *,
        percentile: float | None = None,
        min_distance: float = 0.02,
        warmup: int | None = None,
        every: int = 1,
        embedder: EmbedderSpec = COLOR_TEXTURE,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        percentile = self.default_percentile if percentile is None else percentile
        warmup = self.default_warmup if warmup is None else warmup
        if not 0.0 < percentile < 1.0:
            raise ValueError(f"percentile must be within (0, 1); got {percentile}")
        if not 0.0 <= min_distance <= 2.0:
            raise ValueError(f"min_distance must be within [0, 2]; got {min_distance}")
        if warmup < 1 or every < 1:
            raise ValueError(f"warmup and every must be at least 1; got {warmup} and {every}")
        self.percentile, self.min_distance, self.warmup, self.every = percentile, min_distance, warmup, every
        self.embedder: Any = embedder if isinstance(embedder, str) else dict(embedder)
        self._features = shared_features(embedder)
        self._frames = 0
        self._model: _Model

    def check(self, frame: Frame) -> str | None:
        if frame.image is None:
            return None
        self._frames += 1
        if (self._frames - 1) % self.every:
            return None
        vector = self._features.of(frame, frame.image)
        judgement = self._model.judge(vector)
        if not (
            judgement.warm and judgement.tail <= self.percentile and judgement.nearest >= self.min_distance
        ):
            return None
        self._marked(vector)
        return self._reason(judgement)

    def _marked(self, vector: Vector) -> None:
        """Called when a frame passed the test (whether or not the sampler had credit to keep it)."""

    def _reason(self, judgement: Judgement) -> str:  # pragma: no cover - both rules override
        raise NotImplementedError

    def reset(self, seed: int | None) -> None:
        self._model.reset()
        self._frames = 0


class EmbeddingOutlier(_FeatureRule):
    """Keep a frame far from the mean direction of the last ``window`` frames: at most ``percentile``
    of them are as far, and it is at least ``min_distance`` from each of them (unlike any recent frame:
    after a cut, the first frame of the new scene is kept, not the run of frames that follow while the
    window fills with the new scene), after ``warmup`` frames."""

    kind = "outlier"
    default_warmup = 16
    default_percentile = 0.02

    def __init__(self, *, window: int = 64, **options: Any) -> None:
        super().__init__(**options)
        if window < 2 or self.warmup > window:
            raise ValueError(
                f"window must be at least 2 and at least warmup; got {window}, warmup {self.warmup}"
            )
        self.window = window
        self._model = RecentFrames(window, self.warmup)

    def _reason(self, judgement: Judgement) -> str:
        return (
            f"outlier: distance {judgement.distance:.3f} from the recent frames' mean, {judgement.detail} "
            f"(share ≤ {self.percentile:g}); nearest recent frame {judgement.nearest:.3f} away "
            f"(≥ {self.min_distance:g})"
        )


class SceneChange(_FeatureRule):
    """Keep the frame where the scene changes: its distance to a moving average of the scene
    (``smoothing`` per frame) is in the upper ``percentile`` tail of the running distances and at
    least ``min_distance``; the model then restarts from that frame and warms up again."""

    kind = "scene_change"

    def __init__(self, *, smoothing: float = 0.1, **options: Any) -> None:
        if not 0.0 < smoothing <= 1.0:
            raise ValueError(f"smoothing must be within (0, 1]; got {smoothing}")
        super().__init__(**options)
        self.smoothing = smoothing
        self._scene = RunningScene(smoothing, self.warmup)
        self._model = self._scene

    def _marked(self, vector: Vector) -> None:
        self._scene.restart(vector)

    def _reason(self, judgement: Judgement) -> str:
        return (
            f"scene change: distance {judgement.distance:.3f} to the running scene "
            f"(≥ {self.min_distance:g}), {judgement.detail}, "
            f"tail {judgement.tail:.2g} (≤ {self.percentile:g})"
        )
