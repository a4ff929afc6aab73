"""Stability of a detector's boxes under cheap views of the image (flip, rescale, noise, blur)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

VIEWS: tuple[str, ...] = ()
"""The view names `--views` accepts."""


@dataclass(frozen=True)
class Stability:
    """How an image's base-view boxes hold up under other views (1 = unstable, 0 = stable).

    - ``box_scores``: ``(n_boxes,)`` disagreement in [0, 1], aligned with the base predictions' boxes;
    - ``only_in_other_views``: ``(m,)`` confidences of boxes another view found and the base did not;
    - ``components``: image-level parts of the disagreement (``iou``, ``class``, ``confidence``,
      ``single_view``);
    - ``views``: the view names compared."""

    box_scores: NDArray[np.float64]
    only_in_other_views: NDArray[np.float64]
    components: dict[str, float] = field(default_factory=dict)
    views: tuple[str, ...] = ()
