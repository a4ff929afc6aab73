"""The rule-type registry: every registered type is accepted by the schema and builds its rule, and an
unknown key in any section is answered from that section's own keys."""

from __future__ import annotations

from typing import Any

import pytest

from framescout.sampling import ConfigError, Rule, parse_config, rules
from framescout.sampling.rule_configs import RULE_TYPES

SMALLEST: dict[str, tuple[dict[str, Any], type[Rule]]] = {
    "random": ({"probability": 0.1}, rules.RandomSample),
    "quota": ({"count": 3, "every": "15m"}, rules.TimeQuota),
    "confidence": ({"below": 0.4}, rules.ConfidenceBelow),
    "threshold_schedule": ({"schedule": {1: 0.3, 2: 0.5}}, rules.ThresholdSchedule),
    "nothing_detected": ({}, rules.NothingDetected),
    "conditionals": ({}, rules.RoboflowConditionals),
    "detection_count": ({"more_than": 5}, rules.DetectionCount),
    "classes_present": ({"any_of": ["car"]}, rules.ClassesPresent),
    "every_nth": ({"class": "car", "n": 10}, rules.EveryNth),
    "uncertainty": ({"measure": "entropy", "above": 0.6}, rules.UncertaintyAbove),
    "outlier": ({}, rules.EmbeddingOutlier),
    "scene_change": ({}, rules.SceneChange),
}
"""The smallest valid section of each rule type, and the rule it builds: a new type belongs here."""


def errors_for(data: object) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "test.yaml")
    return str(info.value)


def test_every_registered_rule_type_is_listed_here() -> None:
    assert list(RULE_TYPES) == list(SMALLEST)


@pytest.mark.parametrize("kind", sorted(SMALLEST))
def test_every_registered_rule_type_is_accepted_and_builds_its_rule(kind: str) -> None:
    keys, rule_class = SMALLEST[kind]
    config = parse_config({"rules": [{"type": kind, "name": f"my-{kind}", **keys}]})
    assert type(config.rules[0]) is RULE_TYPES[kind]
    (rule,) = config.build().rules
    assert type(rule) is rule_class and rule.name == f"my-{kind}"


def test_an_unknown_type_lists_exactly_the_registered_types() -> None:
    message = errors_for({"rules": [{"type": "sometimes"}]})
    assert (
        f"rules[0].type: unknown rule type 'sometimes'; use one of {', '.join(sorted(RULE_TYPES))}" in message
    )
    assert f"rules[0]: missing 'type'; use one of {', '.join(sorted(RULE_TYPES))}" in errors_for(
        {"rules": [{}]}
    )


LIMIT_KEYS = "per_day, per_hour, per_minute, per_second"
CONDITIONALS_KEYS = (
    "confidence_interval, maximum_size_requirement, minimum_size_requirement, required_class_count, "
    "required_class_variance_count, required_objects_count, similarity_confidence_threshold, "
    "similarity_timeout_limit, target_classes"
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"limits": {"per_hor": 1}}, "limits.per_hor: unknown key (did you mean 'per_hour'?)"),
        ({"limits": {"zzzzzz": 1}}, f"limits.zzzzzz: unknown key; allowed: {LIMIT_KEYS}"),
        (
            {"novelty": {"threshold": 0.9, "qqqqqq": 2}},
            "novelty.qqqqqq: unknown key; allowed: embedder, threshold, timeout_limit, window",
        ),
        (
            {"rules": [{"type": "random", "probability": 0.1, "qqqqqqqq": 1}]},
            "rules[0].qqqqqqqq: unknown key; allowed: "
            "batch, limits, name, probability, project, storage, tags, type",
        ),
        (
            {"rules": [{"type": "random", "probability": 0.1, "limits": {"xxxxxxx": 1}}]},
            f"rules[0].limits.xxxxxxx: unknown key; allowed: {LIMIT_KEYS}",
        ),
        (
            {"rules": [{"type": "conditionals", "conditionals": {"zzzzzz": 1}}]},
            f"rules[0].conditionals.zzzzzz: unknown key; allowed: {CONDITIONALS_KEYS}",
        ),
        (
            {"rules": [{"type": "every_nth", "clas": "car", "n": 2}]},
            "rules[0].clas: unknown key (did you mean 'class'?)",
        ),
    ],
)
def test_unknown_keys_are_answered_from_their_own_section(data: dict[str, Any], expected: str) -> None:
    data.setdefault("rules", [{"type": "nothing_detected"}])
    assert expected in errors_for(data)


@pytest.mark.parametrize(
    ("embedder", "expected"),
    [
        ({"mean": [float("nan"), 0, 0]}, "rules[0].embedder.mean[0]: Input should be a finite number"),
        ({"std": [1, float("inf"), 1]}, "rules[0].embedder.std[1]: Input should be a finite number"),
        ({"std": [1, 1, 0]}, "rules[0].embedder.std[2]: Input should be greater than 0"),
    ],
)
def test_an_encoders_normalisation_must_be_finite(embedder: dict[str, Any], expected: str) -> None:
    """``mean: [.nan, ...]`` passed ``rules check``: every vector was NaN and the rule never kept a frame."""
    rule = {"type": "outlier", "embedder": {"onnx": "/device/encoder.onnx", **embedder}}
    assert expected in errors_for({"rules": [rule]})
