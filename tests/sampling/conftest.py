"""Factories for predictions used across the sampling tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from framescout import Predictions

Box = tuple[str, float] | tuple[str, float, float, float]
MakePreds = Callable[..., Predictions]


def make_predictions(boxes: Sequence[Box], probs: Sequence[Sequence[float]] | None = None) -> Predictions:
    """Boxes as (class, confidence) or (class, confidence, width, height), stacked left to right."""
    xyxy, conf, names = [], [], []
    x = 0.0
    for box in boxes:
        name, c = box[0], box[1]
        w, h = (box[2], box[3]) if len(box) == 4 else (10.0, 10.0)
        xyxy.append([x, 0.0, x + w, h])
        conf.append(c)
        names.append(name)
        x += w
    return Predictions.from_arrays(
        np.array(xyxy, dtype=np.float64).reshape(-1, 4),
        conf,
        np.zeros(len(names)),
        class_name=names,
        image_width=4096,
        image_height=4096,
        class_probs=probs,
    )


@pytest.fixture
def preds() -> MakePreds:
    return make_predictions
