"""Each rule on its own: what it keeps, what it ignores, and the reason it gives."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from framescout.predictions import Predictions
from framescout.sampling import (
    ClassesPresent,
    ConfidenceBelow,
    ConfidenceBetween,
    ConfidenceNear,
    DetectionCount,
    EveryNth,
    Frame,
    NothingDetected,
    PerClassBelow,
    RandomSample,
    ThresholdSchedule,
    UncertaintyAbove,
)

if TYPE_CHECKING:
    from sampling.conftest import MakePreds


def frame(p: Predictions, version: str | None = None, t: float = 0.0) -> Frame:
    return Frame(p, t, version)


def test_confidence_below_is_strict_and_class_filtered(preds: MakePreds) -> None:
    rule = ConfidenceBelow(0.4)
    assert rule.check(frame(preds([("a", 0.4), ("b", 0.9)]))) is None
    reason = rule.check(frame(preds([("a", 0.39), ("b", 0.9)])))
    assert reason and "1 box(es) below confidence 0.40" in reason
    assert ConfidenceBelow(0.4, classes=["b"]).check(frame(preds([("a", 0.1)]))) is None
    assert rule.check(frame(Predictions.empty())) is None


def test_confidence_between_is_inclusive_with_min_count(preds: MakePreds) -> None:
    rule = ConfidenceBetween(0.3, 0.6, min_count=2)
    assert rule.check(frame(preds([("a", 0.3), ("a", 0.6)])))
    assert rule.check(frame(preds([("a", 0.3), ("a", 0.61)]))) is None
    with pytest.raises(ValueError, match="above high"):
        ConfidenceBetween(0.7, 0.2)


def test_confidence_near_threshold(preds: MakePreds) -> None:
    rule = ConfidenceNear(0.5, 0.05, min_count=1)
    assert rule.check(frame(preds([("a", 0.54)])))
    assert rule.check(frame(preds([("a", 0.56), ("b", 0.44)]))) is None


def test_per_class_thresholds_with_and_without_default(preds: MakePreds) -> None:
    rule = PerClassBelow({"dog": 0.6})
    assert rule.check(frame(preds([("dog", 0.55)])))
    assert rule.check(frame(preds([("cat", 0.05)]))) is None  # unlisted and no default: ignored
    reason = PerClassBelow({"dog": 0.6}, default=0.3).check(frame(preds([("cat", 0.2)])))
    assert reason and "cat 0.20 < 0.30" in reason


def test_nothing_detected_is_an_explicit_trigger(preds: MakePreds) -> None:
    assert NothingDetected().check(frame(Predictions.empty())) == "nothing detected"
    assert NothingDetected().check(frame(preds([("a", 0.9)]))) is None
    assert NothingDetected(classes=["person"]).check(frame(preds([("car", 0.9)])))


def test_threshold_schedule_rises_with_model_version(preds: MakePreds) -> None:
    rule = ThresholdSchedule({"1": 0.40, "2": 0.50, "3": 0.60})
    p = preds([("a", 0.45)])
    assert rule.check(frame(p, "1")) is None
    assert rule.check(frame(p, "2"))
    assert rule.threshold_for("3") == 0.60
    assert rule.threshold_for("9") == 0.60  # newer, unlisted version: the newest bar
    assert ThresholdSchedule({"1": 0.4}, default=0.3).threshold_for(None) == 0.3
    reason = rule.check(frame(p, "3"))
    assert reason and "model version 3" in reason


def test_detection_count_more_and_less(preds: MakePreds) -> None:
    crowded = DetectionCount(more_than=2)
    assert crowded.check(frame(preds([("a", 0.9)] * 3)))
    assert crowded.check(frame(preds([("a", 0.9)] * 2))) is None
    missing = DetectionCount(less_than=1, classes=["person"])
    assert missing.check(frame(preds([("car", 0.9)])))
    assert missing.check(frame(preds([("person", 0.9)]))) is None
    assert DetectionCount(more_than=0, min_confidence=0.5).check(frame(preds([("a", 0.4)]))) is None


def test_classes_present_any_and_all(preds: MakePreds) -> None:
    p = preds([("dog", 0.9), ("cat", 0.3)])
    assert ClassesPresent(any_of=["dog", "horse"]).check(frame(p))
    assert ClassesPresent(all_of=["dog", "horse"]).check(frame(p)) is None
    assert ClassesPresent(all_of=["dog", "cat"]).check(frame(p))
    assert ClassesPresent(any_of=["cat"], min_confidence=0.5).check(frame(p)) is None


def test_every_nth_counts_detections_across_frames(preds: MakePreds) -> None:
    rule = EveryNth("bike", 3)
    hits = [bool(rule.check(frame(preds([("bike", 0.9)] * k)))) for k in (1, 1, 1, 2, 0, 1, 5)]
    # running totals: 1, 2, 3*, 5, 5, 6*, 11* (crosses 9)
    assert hits == [False, False, True, False, False, True, True]


def test_random_sample_is_deterministic_under_seed(preds: MakePreds) -> None:
    p = preds([("a", 0.9)])
    runs = []
    for _ in range(2):
        rule = RandomSample(0.3, seed=42)
        runs.append([bool(rule.check(frame(p))) for _ in range(500)])
    assert runs[0] == runs[1]
    assert 100 < sum(runs[0]) < 200
    assert not any(RandomSample(0.0, seed=1).check(frame(p)) for _ in range(100))
    with pytest.raises(ValueError):
        RandomSample(1.5)


def test_uncertainty_rule(preds: MakePreds) -> None:
    rule = UncertaintyAbove("margin", 0.8)
    assert rule.check(frame(preds([("a", 0.55)])))  # binary margin 1 - |2*0.55 - 1| = 0.9
    assert rule.check(frame(preds([("a", 0.95)]))) is None
    with pytest.raises(ValueError, match="unknown uncertainty measure"):
        UncertaintyAbove("vibes", 0.5)
