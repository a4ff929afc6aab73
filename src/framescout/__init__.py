"""framescout: self-hosted active learning for computer vision — collect the frames your model needs."""

from framescout.predictions import Predictions, PredictionsError
from framescout.sampling import (
    ConfigError,
    Decision,
    ManualClock,
    Sampler,
    SamplingConfig,
    default_sampler,
    load_config,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Decision",
    "ManualClock",
    "Predictions",
    "PredictionsError",
    "Sampler",
    "SamplingConfig",
    "__version__",
    "default_sampler",
    "load_config",
]
