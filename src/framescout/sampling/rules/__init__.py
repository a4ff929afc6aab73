"""Sampling rules: small units with one calling convention, ``rule.check(frame) -> reason | None``."""

from framescout.sampling.rules.base import Rule
from framescout.sampling.rules.conditionals import RoboflowConditionals
from framescout.sampling.rules.confidence import (
    ConfidenceBelow,
    ConfidenceBetween,
    ConfidenceNear,
    NothingDetected,
    PerClassBelow,
    ThresholdSchedule,
)
from framescout.sampling.rules.counts import ClassesPresent, DetectionCount, EveryNth
from framescout.sampling.rules.evaluated import EvaluatedSchedule
from framescout.sampling.rules.novelty import EmbeddingOutlier, SceneChange
from framescout.sampling.rules.random import RandomSample, TimeQuota
from framescout.sampling.rules.uncertainty import UncertaintyAbove

__all__ = [
    "ClassesPresent",
    "ConfidenceBelow",
    "ConfidenceBetween",
    "ConfidenceNear",
    "DetectionCount",
    "EmbeddingOutlier",
    "EvaluatedSchedule",
    "EveryNth",
    "NothingDetected",
    "PerClassBelow",
    "RandomSample",
    "RoboflowConditionals",
    "Rule",
    "SceneChange",
    "ThresholdSchedule",
    "TimeQuota",
    "UncertaintyAbove",
]
