"""The default rule stack: what framescout keeps when the user has not written rules yet.

It follows the guide's first two approaches with safe caps: low-confidence frames (below 0.40),
frames where the model saw nothing, and a random baseline of 3 frames every 15 minutes.
"""

from __future__ import annotations

from typing import Any

from framescout.sampling.clock import Clock, system_clock
from framescout.sampling.config import SamplingConfig, parse_config
from framescout.sampling.engine import Sampler

DEFAULT_RULES: dict[str, Any] = {
    "version": 1,
    "limits": {"per_hour": 600, "per_day": 5000},
    "rules": [
        {
            "name": "low-confidence",
            "type": "confidence",
            "below": 0.40,
            "tags": ["low-confidence"],
            "limits": {"per_minute": 10, "per_hour": 200},
        },
        {
            "name": "nothing-detected",
            "type": "nothing_detected",
            "tags": ["nothing-detected"],
            "limits": {"per_hour": 20},
        },
        {"name": "random", "type": "quota", "count": 3, "every": "15m", "tags": ["random"]},
    ],
}


def default_config(seed: int | None = None) -> SamplingConfig:
    """The default rule stack as a validated configuration."""
    return parse_config({**DEFAULT_RULES, "seed": seed}, "default rules")


def default_sampler(seed: int | None = None, clock: Clock = system_clock) -> Sampler:
    """A `Sampler` running the default rule stack."""
    return default_config(seed).build(clock)
