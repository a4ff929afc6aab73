"""`Frame`: what every rule looks at — the predictions plus when and by which model version."""

from __future__ import annotations

from dataclasses import dataclass

from framescout.predictions import Predictions


@dataclass(frozen=True, slots=True)
class Frame:
    """One observed frame, as the rules see it."""

    predictions: Predictions
    timestamp: float
    model_version: str | None = None
