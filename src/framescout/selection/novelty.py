"""Novelty in the stream: skip frames too similar to what was recently kept.

Semantics follow the guide's ``similarity_confidence_threshold`` / ``similarity_timeout_limit``
(Roboflow's ``active_learning``): a frame passes when its similarity to the reference is at most the
threshold, or when the timeout counter reaches the limit (forcing a refresh after a long run of
look-alike frames); a passing frame becomes the reference. ``window > 1`` compares against the last
``window`` passing frames instead of only the latest one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from framescout.selection.embedders import Embedder, PerceptualHash, hamming


@dataclass(frozen=True)
class NoveltyResult:
    """Whether a frame is novel enough, its highest similarity to the references, and why."""

    novel: bool
    similarity: float
    reason: str


def similarity(embedder: Embedder, a: NDArray[Any], b: NDArray[Any]) -> NDArray[np.float64]:
    """Similarity in [0, 1] (1 = identical) between rows of ``a`` and ``b`` under the embedder's metric."""
    if embedder.metric == "hamming":
        return np.asarray(1.0 - hamming(a, b) / embedder.dim, dtype=np.float64)
    if embedder.metric == "cos":
        return np.asarray(np.clip((a * b).sum(axis=-1), -1.0, 1.0), dtype=np.float64)
    return np.asarray(1.0 / (1.0 + ((a - b) ** 2).sum(axis=-1)), dtype=np.float64)


class NoveltyFilter:
    """Stateful filter over a stream of images (one per call, in order)."""

    def __init__(
        self,
        threshold: float,
        *,
        timeout_limit: int | None = None,
        embedder: Embedder | None = None,
        window: int = 1,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1]; got {threshold}")
        if timeout_limit is not None and timeout_limit < 1:
            raise ValueError(f"timeout_limit must be at least 1; got {timeout_limit}")
        self.threshold, self.timeout_limit = threshold, timeout_limit
        self.embedder: Embedder = embedder or PerceptualHash()
        self._references: deque[NDArray[Any]] = deque(maxlen=max(1, window))
        self._counter = 0

    def check(self, image: Any) -> NoveltyResult:
        """Embed ``image`` and decide; a passing image becomes a reference."""
        return self.check_vector(self.embedder.embed([image])[0])

    def check_vector(self, vector: NDArray[Any]) -> NoveltyResult:
        """Decide for an already embedded frame."""
        if not self._references:
            self._references.append(vector)
            return NoveltyResult(True, 0.0, "first frame")
        score = float(similarity(self.embedder, np.stack(self._references), vector).max())
        self._counter += 1
        if score <= self.threshold:
            reason = f"similarity {score:.2f} <= {self.threshold:.2f}"
        elif self.timeout_limit is not None and self._counter >= self.timeout_limit:
            reason = f"similarity {score:.2f} but {self._counter} similar frames in a row (timeout)"
        else:
            return NoveltyResult(False, score, f"similarity {score:.2f} > {self.threshold:.2f}")
        self._references.append(vector)
        self._counter = 0
        return NoveltyResult(True, score, reason)
