"""Per-image scoring: the one function every selection path calls (the local scan, the Ray path,
the benchmarks) to turn an image's bytes into what selection needs to know about it.

`ScoringConfig` is a small picklable recipe (model path, embedder, views, threshold) that builds a
`Scorer` wherever the work runs (this process, a Ray worker or actor); `Scorer.score` decodes one
image and returns a `ScoredImage` (content hash, perceptual hash, optional embedding, the detector's
predictions on the unchanged image, and its stability across views); `Scorer.score_many` does a
batch, overlapping decoding and pre/post-processing with inference on a few threads (ONNX Runtime
and OpenCV release the GIL), and reports why an image was skipped instead of raising.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from framescout.imaging import ImageError, decode_image, sha256_hex, to_bgr
from framescout.predictions import Predictions
from framescout.selection.embedders import ColorTexture, Embedder, OnnxEmbedder, PerceptualHash
from framescout.selection.stability import VIEWS, Detector, Stability, stability_of

SESSION_THREADS = 1
"""ONNX Runtime threads per inference. One, with `Scorer.workers` images in flight: NanoDet-m's input
is fixed at batch 1, so parallel images beat parallel operators on a few cores (docs/benchmarks.md,
"Selection scoring")."""
DEFAULT_WORKERS = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class ScoredImage:
    """Everything selection needs about one image; picklable (Ray moves these between processes)."""

    sha256: str
    phash: NDArray[np.uint8]
    """``(8,)`` packed 64-bit perceptual hash (near-duplicate removal)."""
    embedding: NDArray[np.float32] | None
    predictions: Predictions | None
    """The detector's boxes on the unchanged image (the base view); None without a detector."""
    stability: Stability | None
    """How the base boxes hold up under the views; None when no views were asked for."""


@dataclass(frozen=True)
class ScoringConfig:
    """A picklable recipe for a `Scorer`: paths and names only, so it can be shipped to a Ray worker
    or actor and built there (a loaded ONNX session cannot be pickled).

    ``embedder`` None means the colour/texture descriptor when embeddings are wanted; a path means an
    ONNX image encoder (`OnnxEmbedder`). ``views`` are `framescout.selection.stability.VIEWS` names
    (they need ``model``); ``confidence`` is the base view's score threshold."""

    model: str | None = None
    model_format: str | None = None
    classes: str | None = None
    embedder: str | None = None
    want_embeddings: bool = False
    views: tuple[str, ...] = ()
    confidence: float = 0.05
    threads: int | None = None
    """Images scored at once by `Scorer.score_many` (default: the CPU count, at most 4); each
    inference runs on one core, so ``threads`` inferences overlap with decoding and post-processing."""

    def __post_init__(self) -> None:
        check_views(self.views, has_model=self.model is not None)

    def build(self) -> Scorer:
        """Load the model and the embedder (raises `framescout.models.ModelError` / ValueError)."""
        detector = None
        if self.model is not None:
            classes = Path(self.classes) if self.classes else None
            detector = load_detector(Path(self.model), self.model_format, classes)
        embedder: Embedder | None = None
        if self.want_embeddings:
            embedder = OnnxEmbedder(self.embedder) if self.embedder else ColorTexture()
        return Scorer(
            detector=detector,
            embedder=embedder,
            views=self.views,
            confidence=self.confidence,
            workers=self.threads,
        )


def load_detector(model: Path, model_format: str | None = None, classes: Path | None = None) -> Detector:
    """The ONNX detector ``--model`` names (layout auto-detected unless ``model_format``), with the
    class names file ``classes``. Raises `OSError` or `ValueError` for a bad model or names file."""
    from framescout import models  # the runners load onnxruntime: only when a model is used

    names = models.load_class_names(classes) if classes else None
    # one thread per inference: the scan keeps several images in flight (`Scorer.score_many`)
    detector: Detector = models.OnnxDetector(
        model, class_names=names, format=model_format, threads=SESSION_THREADS
    )
    return detector


def check_views(views: Sequence[str], *, has_model: bool) -> None:
    """Raise ValueError naming the bad view (or the missing model) for a list of view names."""
    unknown = [v for v in views if v not in VIEWS]
    if unknown:
        raise ValueError(f"unknown view {unknown[0]!r}; use any of {', '.join(VIEWS)}")
    if len(set(views)) != len(views):
        raise ValueError(f"views repeat: {', '.join(views)}")
    if views and not has_model:
        raise ValueError("views compare a detector's predictions: they need a model")


class Scorer:
    """Scores images one by one (`score`) or in batches (`score_many`) with one detector/embedder.

    ``workers`` threads run `score_many` (default `DEFAULT_WORKERS`: the CPU count, at most 4): while
    one image is in ONNX Runtime, another is being decoded, hashed or post-processed. Give a detector
    whose session runs on one thread (`SESSION_THREADS`), or the threads compete for the cores."""

    def __init__(
        self,
        *,
        detector: Detector | None = None,
        embedder: Embedder | None = None,
        views: Sequence[str] = (),
        confidence: float = 0.05,
        workers: int | None = None,
    ) -> None:
        check_views(views, has_model=detector is not None)
        self.detector = detector
        self.embedder = embedder
        self.views = tuple(views)
        self.confidence = confidence
        self.workers = workers or DEFAULT_WORKERS
        self._hasher = PerceptualHash()
        self._pool: ThreadPoolExecutor | None = None

    def score(self, data: bytes) -> ScoredImage:
        """Score one encoded image; raises `ImageError` (or OSError) like `decode_image`."""
        image = to_bgr(decode_image(data))
        embedding = None
        if self.embedder is not None:
            embedding = np.asarray(self.embedder.embed([image])[0], dtype=np.float32)
        predictions = stability = None
        if self.detector is not None:
            predictions = self.detector.predict(image, confidence=self.confidence)
            if self.views:
                stability = stability_of(self.detector, image, predictions, self.views, self.confidence)
        return ScoredImage(
            sha256=sha256_hex(data),
            phash=self._hasher.hash_one(image),
            embedding=embedding,
            predictions=predictions,
            stability=stability,
        )

    def score_many(self, blobs: Sequence[bytes]) -> list[ScoredImage | str]:
        """Score a batch in order; an image that cannot be decoded yields the reason (a string)."""
        if self.workers <= 1 or len(blobs) <= 1:
            return [self._score_or_reason(b) for b in blobs]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="framescout-score")
        return list(self._pool.map(self._score_or_reason, blobs))

    def _score_or_reason(self, data: bytes) -> ScoredImage | str:
        try:
            return self.score(data)
        except ImageError as exc:
            return f"{exc.code}: {exc}"
        except OSError as exc:
            return f"unreadable: {exc.strerror or exc}"

    def close(self) -> None:
        """Stop the worker threads (they also stop when the scorer is garbage-collected)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __getstate__(self) -> dict[str, Any]:  # a thread pool cannot be pickled
        state = dict(self.__dict__)
        state["_pool"] = None
        return state
