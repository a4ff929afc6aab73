"""What `framescout select` does between reading its options and writing its output, as library
functions: the default strategy, the scan (with the embedder the strategy needs), the pick (by image
or box budget) and its explanation. The CLI calls these, and so does
``benchmarks/detection_selection.py``, so the benchmark measures exactly what users get (the same
defaults, thresholds and pre-processing), never a tuned copy."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from framescout.selection.budget import select_boxes
from framescout.selection.embedders import ColorTexture, Embedder, OnnxEmbedder
from framescout.selection.explain import PickDetail, explain
from framescout.selection.folder import PoolItem, ScannedPool, scan
from framescout.selection.pool import SelectionError
from framescout.selection.stability import Detector
from framescout.selection.strategies import STRATEGIES, select

DEFAULT_WITH_MODEL = "errors_normalised"
"""The default strategy when the pool has a detector's predictions: the best at both per-image and
per-box yield in ``benchmarks/detection_selection.py`` (docs/selection.md, "Box-aware selection")."""
DEFAULT_WITHOUT_MODEL = "kcenter"
CONFIDENCE = 0.05
"""The detector's score threshold when scanning: low, so the faint boxes that may be missed objects
are seen (the box-aware scores calibrate them; they add little unless they are near `REPORTED`)."""
NEAR_DUPLICATE_BITS = 4
DEFAULT_VIEWS: tuple[str, ...] = ()
"""Views scored by default (``--views``): none; see docs/selection.md for what views add and cost."""


@dataclass(frozen=True)
class Picked:
    """A pick and its explanation: ``indices`` into ``scanned.pool``, best first."""

    scanned: ScannedPool
    strategy: str
    indices: NDArray[np.intp]
    details: list[PickDetail]


def default_strategy(has_predictions: bool) -> str:
    """`DEFAULT_WITH_MODEL` with a detector (or stored predictions), else `DEFAULT_WITHOUT_MODEL`."""
    return DEFAULT_WITH_MODEL if has_predictions else DEFAULT_WITHOUT_MODEL


def make_embedder(strategy: str, embedder: Path | None = None) -> Embedder | None:
    """The embedder ``strategy`` needs (an ONNX encoder when given, else the colour/texture
    descriptor), or None when it measures no distances. Raises `ValueError` for a bad encoder."""
    if not STRATEGIES[strategy].needs_embeddings:
        return None
    return OnnxEmbedder(embedder) if embedder else ColorTexture()


def scan_pool(
    items: Sequence[PoolItem],
    strategy: str,
    *,
    detector: Detector | None = None,
    embedder: Path | None = None,
    views: Sequence[str] = DEFAULT_VIEWS,
    near_duplicate_bits: int = NEAR_DUPLICATE_BITS,
    progress: Callable[[int], None] | None = None,
) -> ScannedPool:
    """Read, hash, deduplicate, embed (when ``strategy`` needs it), predict (with ``detector``) and
    score the predictions' stability under ``views`` (with a detector only)."""
    return scan(
        items,
        embedder=make_embedder(strategy, embedder),
        detector=detector,
        confidence=CONFIDENCE,
        views=tuple(views) if detector is not None else (),
        near_duplicate_bits=near_duplicate_bits,
        progress=progress,
    )


def pick(
    scanned: ScannedPool,
    strategy: str,
    *,
    budget: int | None = None,
    budget_boxes: int | None = None,
    seed: int = 0,
    class_weights: Mapping[str, float] | None = None,
) -> Picked:
    """Pick ``budget`` images, or until the expected boxes reach ``budget_boxes`` (then ``budget``,
    when also given, caps the images), and explain every pick. Raises `SelectionError`."""
    if budget is None and budget_boxes is None:
        raise SelectionError("give an image budget or a box budget")
    if class_weights:
        scanned = dataclasses.replace(
            scanned, pool=dataclasses.replace(scanned.pool, class_weights=dict(class_weights))
        )
    pool = scanned.pool
    if budget_boxes is not None:
        indices = select_boxes(pool, budget_boxes, strategy, seed=seed, max_images=budget)
    else:
        assert budget is not None
        indices = select(pool, budget, strategy, seed=seed)
    return Picked(scanned, strategy, indices, explain(pool, indices, strategy))
