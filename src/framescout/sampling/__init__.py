"""The sampling engine: decide, frame by frame, whether a frame is worth labelling, and why.

from framescout.sampling import load_config
sampler = load_config("rules.yaml").build()
decision = sampler.decide(predictions, model_version="3")
if decision.keep: ...
"""

from framescout.sampling.clock import Clock, ManualClock, system_clock
from framescout.sampling.config import ConfigError, SamplingConfig, load_config, parse_config
from framescout.sampling.decision import Decision
from framescout.sampling.defaults import DEFAULT_RULES, default_sampler
from framescout.sampling.engine import Sampler, Swap
from framescout.sampling.frame import Frame
from framescout.sampling.limiter import ClockedMemoryStorage, Limiter, parse_limits
from framescout.sampling.rules import (
    ClassesPresent,
    ConfidenceBelow,
    ConfidenceBetween,
    ConfidenceNear,
    DetectionCount,
    EmbeddingOutlier,
    EveryNth,
    NothingDetected,
    PerClassBelow,
    RandomSample,
    RoboflowConditionals,
    Rule,
    SceneChange,
    ThresholdSchedule,
    TimeQuota,
    UncertaintyAbove,
)
from framescout.sampling.uncertainty import SCORERS, entropy, least_confidence, margin

__all__ = [
    "DEFAULT_RULES",
    "SCORERS",
    "ClassesPresent",
    "Clock",
    "ClockedMemoryStorage",
    "ConfidenceBelow",
    "ConfidenceBetween",
    "ConfidenceNear",
    "ConfigError",
    "Decision",
    "DetectionCount",
    "EmbeddingOutlier",
    "EveryNth",
    "Frame",
    "Limiter",
    "ManualClock",
    "NothingDetected",
    "PerClassBelow",
    "RandomSample",
    "RoboflowConditionals",
    "Rule",
    "Sampler",
    "SamplingConfig",
    "SceneChange",
    "Swap",
    "ThresholdSchedule",
    "TimeQuota",
    "UncertaintyAbove",
    "default_sampler",
    "entropy",
    "least_confidence",
    "load_config",
    "margin",
    "parse_config",
    "parse_limits",
    "system_clock",
]
