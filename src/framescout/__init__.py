"""framescout: self-hosted active learning for computer vision — collect the frames your model needs.

The light parts (predictions, sampling) import eagerly; the parts that load ONNX Runtime, OpenCV or an
HTTP client (`Collector`, `Client`, `OnnxDetector`, `RemoteDetector`, `select`, `Pool`) are imported on
first use, so ``import framescout`` stays fast on small devices.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from framescout.client import Client
    from framescout.collector import Collector
    from framescout.models import OnnxDetector, RemoteDetector
    from framescout.selection import Pool, select

try:  # the version is written once, in pyproject.toml; installing the package records it
    __version__ = importlib.metadata.version("framescout")
except importlib.metadata.PackageNotFoundError:  # a source checkout on sys.path, never installed
    __version__ = "0+unknown"

_LAZY = {
    "Client": "framescout.client",
    "Collector": "framescout.collector",
    "OnnxDetector": "framescout.models",
    "RemoteDetector": "framescout.models",
    "Pool": "framescout.selection",
    "select": "framescout.selection",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'framescout' has no attribute {name!r}")


__all__ = [
    "Client",
    "Collector",
    "ConfigError",
    "Decision",
    "ManualClock",
    "OnnxDetector",
    "Pool",
    "Predictions",
    "PredictionsError",
    "RemoteDetector",
    "Sampler",
    "SamplingConfig",
    "__version__",
    "default_sampler",
    "load_config",
    "select",
]
