"""Configuration files: every shipped example is valid; bad files are rejected naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from framescout.sampling import ConfigError, load_config, parse_config
from framescout.sampling.defaults import DEFAULT_RULES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.*")), ids=lambda p: p.name)
def test_shipped_examples_are_valid_and_build(path: Path) -> None:
    config = load_config(path)
    sampler = config.build()
    assert len(sampler.rules) == len(config.rules) >= 1


def test_default_example_is_the_built_in_default() -> None:
    assert yaml.safe_load((EXAMPLES / "default.yaml").read_text()) == DEFAULT_RULES


def errors_for(data: object) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "test.yaml")
    return str(info.value)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"type": "confidence", "bellow": 0.4}, "rules[0].bellow: unknown key (did you mean 'below'?)"),
        ({"type": "confidence", "between": [0.7, 0.2]}, "rules[0]: between: low 0.7 is above high 0.2"),
        ({"type": "confidence"}, "give exactly one of below, between, near or per_class"),
        ({"type": "confidence", "below": 0.4, "near": 0.5, "epsilon": 0.1}, "(got below, near)"),
        ({"type": "confidence", "below": 1.4}, "rules[0].below: Input should be less than or equal to 1"),
        ({"type": "random", "probability": -0.1}, "rules[0].probability"),
        ({"type": "random", "probability": "0.5%"}, None),
        ({"type": "quota", "count": 3, "every": "15 parsecs"}, "cannot read '15 parsecs' as a duration"),
        ({"type": "quota", "count": 0, "every": "15m"}, "rules[0].count"),
        ({"type": "bogus"}, "rules[0].type: unknown rule type 'bogus'"),
        ({"probability": 0.1}, "rules[0]: missing 'type'"),
        ({"type": "random", "probability": 0.1, "limits": {"per_minute": -1}}, "rules[0].limits.per_minute"),
        ({"type": "random", "probability": 0.1, "limits": "ten per minute"}, "cannot parse rate limit"),
        ({"type": "random", "probability": 0.1, "limits": "3/5 minutes"}, "whole periods"),
        (
            {"type": "conditionals", "conditionals": {"confidence_interval": [90, 10]}},
            "rules[0].conditionals: confidence_interval: low 90.0 is above high 10.0",
        ),
        (
            {"type": "conditionals", "conditionals": {"target_clases": ["a"]}},
            "rules[0].conditionals.target_clases: unknown key (did you mean 'target_classes'?)",
        ),
        ({"type": "every_nth", "class": "dog", "n": 0}, "rules[0].n"),
        ({"type": "detection_count"}, "give more_than, less_than or both"),
        ({"type": "uncertainty", "measure": "vibes", "above": 0.5}, "rules[0].measure"),
    ],
)
def test_bad_rules_name_the_offending_key(rule: dict[str, object], expected: str | None) -> None:
    data = {"rules": [rule]}
    if expected is None:
        parse_config(data)
        return
    assert expected in errors_for(data)


def test_rule_names_appear_in_paths_and_must_be_unique() -> None:
    message = errors_for({"rules": [{"name": "low", "type": "confidence", "below": 2}]})
    assert "rules[0] (low).below" in message
    message = errors_for({"rules": [{"type": "nothing_detected"}, {"type": "nothing_detected"}]})
    assert "the name 'nothing_detected' is used twice" in message


def test_top_level_errors() -> None:
    assert "rules: required key is missing" in errors_for({})
    assert "extra: unknown key" in errors_for({"rules": [{"type": "nothing_detected"}], "extra": 1})
    assert "version" in errors_for({"version": 2, "rules": [{"type": "nothing_detected"}]})


def test_file_errors_point_at_the_file(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("rules:\n  - type: confidence\n    below: [0.4\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+:\d+: invalid YAML"):
        load_config(bad_yaml)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"rules": [}')
    with pytest.raises(ConfigError, match=r"bad.json:1:\d+: invalid JSON"):
        load_config(bad_json)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(scalar)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_similarity_keys_are_accepted_and_noted() -> None:
    config = parse_config(
        {
            "rules": [
                {
                    "type": "conditionals",
                    "conditionals": {"similarity_confidence_threshold": 0.3, "similarity_timeout_limit": 3},
                }
            ]
        }
    )
    assert any("similarity" in note for note in config.notes())


def test_novelty_section_and_similarity_keys() -> None:
    explicit = parse_config(
        {
            "novelty": {"threshold": 0.85, "timeout_limit": 5, "window": 4},
            "rules": [{"type": "nothing_detected"}],
        }
    )
    assert explicit.novelty_settings() == explicit.novelty
    derived = parse_config(
        {
            "rules": [
                {
                    "type": "conditionals",
                    "conditionals": {"similarity_confidence_threshold": 0.3, "similarity_timeout_limit": 3},
                }
            ]
        }
    )
    settings = derived.novelty_settings()
    assert settings is not None and (settings.threshold, settings.timeout_limit) == (0.3, 3)
    assert "similarity keys" in derived.notes()[0]
    assert parse_config({"rules": [{"type": "nothing_detected"}]}).novelty_settings() is None
    assert "novelty.threshold" in errors_for(
        {"novelty": {"threshold": 2}, "rules": [{"type": "nothing_detected"}]}
    )
    assert "novelty.embeder: unknown key (did you mean 'embedder'?)" in errors_for(
        {"novelty": {"threshold": 0.5, "embeder": "phash"}, "rules": [{"type": "nothing_detected"}]}
    )


def test_did_you_mean_inside_rule_limits() -> None:
    message = errors_for({"rules": [{"type": "random", "probability": 0.1, "limits": {"per_mnute": 3}}]})
    assert "rules[0].limits.per_mnute: unknown key (did you mean 'per_minute'?)" in message
