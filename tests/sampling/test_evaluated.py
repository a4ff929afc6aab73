"""``threshold_schedule`` with ``from: evaluation``: the schema, the resolution of an evaluation answer
into the thresholds in force (floor, per class, fallback, source) and the rule that applies them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from framescout.sampling import ConfigError, Frame
from framescout.sampling.config import config_from_text
from framescout.sampling.evaluated import EvaluationBook, Policy, Summary, resolve, summarize
from framescout.sampling.rules import EvaluatedSchedule
from framescout.store.thresholds import parse_threshold

if TYPE_CHECKING:
    from sampling.conftest import MakePreds

ANSWER: dict[str, Any] = {
    "model_version": "2",
    "images": 312,
    "recommended_threshold": 0.55,
    "per_class": {
        "car": {"ap": 0.5, "best_threshold": 0.7, "support": 40},
        "person": {"ap": 0.4, "best_threshold": 0.35, "support": 12},
        "bike": {"ap": None, "best_threshold": None, "support": 0},
    },
}


def rules_text(rule: str) -> str:
    return "version: 1\nrules:\n  - type: threshold_schedule\n" + "".join(
        f"    {line}\n" for line in rule.strip().splitlines()
    )


def test_summarize_keeps_what_a_threshold_needs() -> None:
    summary = summarize(ANSWER)
    assert summary == Summary("2", 312, 0.55, {"car": 0.7, "person": 0.35})
    assert summarize(summary.to_json()) == summary  # the device cache round-trips
    assert summarize({"images": 0, "recommended_threshold": None}, "3") == Summary("3", 0, None, {})
    with pytest.raises(ValueError, match="recommended_threshold must be a confidence"):
        summarize({**ANSWER, "recommended_threshold": 1.5})
    with pytest.raises(ValueError, match="names its model_version"):
        summarize({"images": 3})


def test_resolve_applies_the_floor_and_says_where_the_threshold_came_from() -> None:
    summary = summarize(ANSWER)
    force = resolve(Policy(0.4), "2", summary)
    assert (force.threshold, dict(force.per_class), force.evaluated) == (0.55, {}, True)
    assert force.source == "evaluation of v2 on 312 reviewed frames"
    floored = resolve(Policy(0.6, floor=0.6), "2", summary)
    assert floored.threshold == 0.6
    assert floored.source == "evaluation of v2 on 312 reviewed frames, its 0.55 raised to the floor 0.60"
    per_class = resolve(Policy(0.4, floor=0.5, per_class=True), "2", summary)
    assert (per_class.threshold, dict(per_class.per_class)) == (0.55, {"car": 0.7, "person": 0.5})
    assert per_class.for_class("bike") == 0.55  # no class threshold: the overall one
    assert per_class.source.endswith(", person raised to the floor 0.50")
    missing = resolve(Policy(0.45, floor=0.4), "3", None)
    assert (missing.threshold, missing.evaluated, missing.source) == (
        0.45,
        False,
        "fallback: no evaluation for v3",
    )
    empty = resolve(Policy(0.45), "3", Summary("3", 0, None))
    assert empty.source == "fallback: evaluation of v3 has no threshold yet (0 reviewed frames)"
    assert resolve(Policy(0.45), None, None).source == "fallback: no evaluation for unknown"


def test_the_rule_keeps_by_the_threshold_in_force(preds: MakePreds) -> None:
    rule = EvaluatedSchedule(fallback=0.4, floor=0.3)
    frame = Frame(preds([("car", 0.5)]), 0.0, "2")
    assert rule.check(frame) is None  # no evaluation: fallback 0.40
    book = EvaluationBook()
    rule.use_book(book)
    book.put(summarize(ANSWER))
    reason = rule.check(frame)
    assert reason == (
        "1 box(es) below 0.55, the threshold for model version 2 (evaluation of v2 on 312 reviewed frames)"
    )
    assert parse_threshold(reason) == "< 0.55"  # the dashboard still reads the threshold
    assert rule.check(Frame(preds([("car", 0.55)]), 0.0, "2")) is None  # strictly below
    book.forget("2")
    assert rule.check(frame) is None


def test_per_class_thresholds_and_classes(preds: MakePreds) -> None:
    rule = EvaluatedSchedule(fallback=0.4, per_class=True, classes=["car", "person"])
    book = EvaluationBook({"2": summarize(ANSWER)})
    rule.use_book(book)
    assert rule.check(Frame(preds([("person", 0.4), ("bike", 0.1)]), 0.0, "2")) is None
    reason = rule.check(Frame(preds([("person", 0.4), ("car", 0.69)]), 0.0, "2"))
    assert reason is not None and "below 0.70, the threshold for model version 2 for car" in reason


def test_a_book_is_not_part_of_the_fingerprint() -> None:
    one, two = EvaluatedSchedule(fallback=0.4), EvaluatedSchedule(fallback=0.4)
    two.use_book(EvaluationBook({"2": summarize(ANSWER)}))
    assert one.fingerprint() == two.fingerprint()
    assert one.fingerprint() != EvaluatedSchedule(fallback=0.4, floor=0.2).fingerprint()


def test_config_builds_the_evaluated_rule() -> None:
    config = config_from_text(
        rules_text("from: evaluation\nfallback: 0.5\nfloor: 40%\nper_class: true"), "yaml", "t"
    )
    (rule,) = config.build().rules
    assert isinstance(rule, EvaluatedSchedule)
    assert rule.policy == Policy(0.5, 0.4, True)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("from: evaluation", "rules[0]: from: evaluation needs fallback"),
        ("from: evaluation\nfallback: 0.5\nfloor: 0.6", "rules[0]: fallback 0.5 is below the floor 0.6"),
        ("from: evaluation\nfallback: 0.5\nschedule: {1: 0.4}", "rules[0]: from: evaluation measures"),
        ("schedule: {1: 0.4}\nfloor: 0.3", "rules[0]: floor take effect only with from: evaluation"),
        ("fallback: 0.3", "rules[0]: fallback take effect only with from: evaluation"),
        ("from: evalution\nfallback: 0.3", "rules[0].from: Input should be 'evaluation'"),
        ("from: evaluation\nfallback: 1.3", "rules[0].fallback"),
        ("{}", "rules[0]: give schedule"),
    ],
)
def test_config_errors_name_the_key(rule: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("{", r"\{")):
        config_from_text(rules_text(rule) if rule != "{}" else rules_text(""), "yaml", "t")
