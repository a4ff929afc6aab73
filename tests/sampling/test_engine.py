"""The Sampler: first matching rule with credit wins; limited rules are reported; determinism."""

from __future__ import annotations

from typing import TYPE_CHECKING

from framescout import Predictions
from framescout.sampling import (
    ConfidenceBelow,
    EveryNth,
    ManualClock,
    NothingDetected,
    RandomSample,
    Sampler,
    default_sampler,
)

if TYPE_CHECKING:
    from sampling.conftest import MakePreds


def test_first_matching_rule_keeps_and_carries_its_tags(preds: MakePreds) -> None:
    sampler = Sampler(
        [ConfidenceBelow(0.5, name="low", tags=["lc"]), RandomSample(1.0, name="rand", tags=["r"])],
        clock=ManualClock(0),
    )
    d = sampler.decide(preds([("a", 0.2)]))
    assert (d.keep, d.rule, d.tags) == (True, "low", ("lc",))
    d = sampler.decide(preds([("a", 0.9)]))
    assert (d.rule, d.tags) == ("rand", ("r",))


def test_a_decision_names_the_type_of_its_rule_for_dashboards(preds: MakePreds) -> None:
    sampler = Sampler(
        [ConfidenceBelow(0.5, name="low"), RandomSample(1.0, name="rand")], clock=ManualClock(0)
    )
    assert sampler.decide(preds([("a", 0.2)])).to_dict()["rule_kind"] == "confidence_below"
    assert sampler.decide(preds([("a", 0.9)])).rule_kind == "random"
    assert Sampler([NothingDetected()], clock=ManualClock(0)).decide(preds([("a", 0.9)])).rule_kind is None


def test_a_rule_without_credit_passes_the_frame_on(preds: MakePreds) -> None:
    clock = ManualClock(0)
    sampler = Sampler(
        [ConfidenceBelow(0.5, name="low", limits="2/minute"), RandomSample(1.0, name="rand")],
        clock=clock,
    )
    rules = [sampler.decide(preds([("a", 0.2)])).rule for _ in range(3)]
    assert rules == ["low", "low", "rand"]
    d = sampler.decide(preds([("a", 0.2)]))
    assert d.limited == ("low",) and d.rule == "rand"
    clock.advance(60)
    assert sampler.decide(preds([("a", 0.2)])).rule == "low"  # credit is back after the window


def test_global_limit_and_limited_reason(preds: MakePreds) -> None:
    clock = ManualClock(0)
    sampler = Sampler([NothingDetected(name="empty")], limits="1/minute", clock=clock)
    assert sampler.decide(Predictions.empty()).keep
    d = sampler.decide(Predictions.empty())
    assert not d.keep and d.limited == ("empty",) and "over the limit" in d.reason
    assert sampler.remaining()["global"] == {"1 per 1 minute": 0}
    nothing = sampler.decide(preds([("a", 0.9)]))
    assert nothing.reason == "no rule matched" and not nothing


def test_counting_rules_see_frames_kept_by_earlier_rules(preds: MakePreds) -> None:
    sampler = Sampler([ConfidenceBelow(0.5, name="low"), EveryNth("a", 2, name="nth")], clock=ManualClock(0))
    low_a = preds([("a", 0.1)])
    assert sampler.decide(low_a).rule == "low"  # the every-nth counter still sees this 'a' (1)
    assert sampler.decide(preds([("a", 0.9)])).rule == "nth"  # 2nd 'a'


def test_same_seed_same_decisions(preds: MakePreds) -> None:
    frames = [preds([("a", c)]) for c in (0.1, 0.5, 0.9, 0.3)] * 50 + [Predictions.empty()] * 20

    def run(seed: int) -> list[str | None]:
        clock = ManualClock(0)
        sampler = default_sampler(seed=seed, clock=clock)
        out = []
        for f in frames:
            clock.advance(13.7)
            out.append(sampler.decide(f).rule)
        return out

    assert run(1) == run(1)
    sampler = default_sampler(seed=1, clock=ManualClock(0))
    sampler.decide(frames[0])
    sampler.reset()
    assert sampler.remaining()["global"]["600 per 1 hour"] == 600


def test_rule_names_must_be_unique() -> None:
    import pytest

    with pytest.raises(ValueError, match="unique"):
        Sampler([NothingDetected(), NothingDetected()])


def test_model_version_reaches_the_rules(preds: MakePreds) -> None:
    from framescout.sampling import ThresholdSchedule

    sampler = Sampler([ThresholdSchedule({"1": 0.4, "2": 0.6})], clock=ManualClock(0))
    assert not sampler.decide(preds([("a", 0.5)]), model_version="1").keep
    assert sampler.decide(preds([("a", 0.5)]), model_version="2").keep
