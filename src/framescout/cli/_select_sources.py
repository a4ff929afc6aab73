"""``framescout select``'s image input and Ray scoring: ``--images FOLDER|s3://bucket/prefix`` and
``--ray auto|ADDRESS`` (``--ray-workers N``), each failing in one line that names the option."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from framescout.cli._output import fail
from framescout.selection.folder import PoolItem, ScannedPool
from framescout.selection.image_sources import ImageSourceError, pool_items
from framescout.selection.scoring import ScoringConfig


def image_items(images: str) -> list[PoolItem]:
    """The pool's items from ``--images``: a folder (recursive) or every image under an S3 prefix."""
    try:
        return pool_items(images)
    except ImageSourceError as exc:
        fail(str(exc))


def scoring_config(
    *,
    model: Path | None,
    model_format: str | None,
    classes: Path | None,
    embedder: Path | None,
    want_embeddings: bool,
    views: Sequence[str] = (),
    confidence: float = 0.05,
) -> ScoringConfig:
    """The recipe of the local scan, for Ray's actors to build the same `Scorer` (the same picks)."""
    try:
        return ScoringConfig(
            model=None if model is None else str(model),
            model_format=model_format,
            classes=None if classes is None else str(classes),
            embedder=None if embedder is None else str(embedder),
            want_embeddings=want_embeddings,
            views=tuple(views),
            confidence=confidence,
        )
    except ValueError as exc:
        fail(str(exc))


def scan_on_ray(
    address: str,
    items: Sequence[PoolItem],
    config: ScoringConfig,
    *,
    workers: int | None,
    near_duplicate_bits: int,
    progress: Callable[[int], None],
) -> ScannedPool:
    """`folder.scan`'s pool, each image scored by a Ray actor of the cluster at ``address``."""
    from framescout.selection import ray_scoring

    try:
        with ray_scoring.ray_cluster(address) as ray:
            try:
                return ray_scoring.scan_on_ray(
                    items, config, near_duplicate_bits=near_duplicate_bits, workers=workers, progress=progress
                )
            except ray.exceptions.RayError as exc:  # an actor died, a node was lost, ...
                fail(f"--ray {address}: scoring failed on the cluster: {_first_line(exc)}")
    except ray_scoring.RayUnavailable as exc:
        fail(str(exc))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__
