"""`Frame`: what every rule looks at — the predictions plus when and by which model version, and the
image itself for the rules that describe pixels (`framescout.sampling.rules.novelty`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from framescout.predictions import Predictions


@dataclass(frozen=True, slots=True)
class Frame:
    """One observed frame, as the rules see it."""

    predictions: Predictions
    timestamp: float
    model_version: str | None = None
    image: Any = None
    """The frame's pixels (BGR array, PIL image or path) when the caller gave them; ``None`` in
    prediction-only replays, where the rules that need pixels do not match."""
