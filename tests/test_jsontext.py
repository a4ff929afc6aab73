"""`framescout.jsontext`: nesting depth without parsing or recursion, and strict, capped parsing."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from framescout import jsontext
from framescout.jsontext import JSONTextError, loads, nesting_depth, too_deep
from framescout.server.errors import status_for


def reference_depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((reference_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((reference_depth(v) for v in value.values()), default=0)
    return 0


def random_value(rng: random.Random, level: int = 0) -> Any:
    """Nested values whose strings are full of brackets, quotes and backslashes."""
    if level > 7 or rng.random() < 0.3:
        return rng.choice([1, -2.5, None, True, '[{"', "\\", '\\"]]', "}{", "", "é[ü"])
    if rng.random() < 0.5:
        return [random_value(rng, level + 1) for _ in range(rng.randint(0, 3))]
    return {f'k{i}["\\': random_value(rng, level + 1) for i in range(rng.randint(0, 3))}


@pytest.mark.parametrize("chunk", [jsontext._CHUNK, 2, 7, 64])
def test_depth_matches_a_parser_whatever_strings_hold(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """Small chunks put every chunk boundary inside strings, escapes and bracket runs."""
    monkeypatch.setattr(jsontext, "_CHUNK", chunk)
    rng = random.Random(chunk)
    for _ in range(400 if chunk > 2 else 40):
        value = random_value(rng)
        for text in (json.dumps(value), json.dumps(value, ensure_ascii=False), json.dumps(value, indent=1)):
            assert nesting_depth(text) == reference_depth(value), text
            assert nesting_depth(text.encode()) == reference_depth(value), text


@pytest.mark.parametrize(
    ("text", "depth"),
    [("1", 0), ("[]", 1), ('{"a": [1, {"b": []}]}', 4), ('"[[[["', 0), (r'"\"[["', 0), (r'["\\", [[]]]', 3)],
)
def test_depth_of_small_texts(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth


def test_very_deep_text_is_measured_without_recursion() -> None:
    for levels in (1000, 100_000, 1_000_000):
        text = "[" * levels + "]" * levels
        assert nesting_depth(text) == levels
        assert too_deep(text)
    assert not too_deep("[" * 64 + "]" * 64)
    assert too_deep("[" * 65 + "]" * 65)
    assert not too_deep(json.dumps([{"a": [1]}] * 10_000))  # many brackets, shallow


def test_escaped_quotes_do_not_make_it_quadratic() -> None:
    """A string of 10^6 escaped quotes that never closes: one pass, correct result."""
    text = '"' + '\\"' * 1_000_000 + "[[["
    assert nesting_depth(text) == 0


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[" * 65 + "]" * 65, "json_too_deep"),
        ('{"a": NaN}', "malformed_json"),
        ('{"a": -Infinity}', "malformed_json"),
        ("[" + str(2**64) + "]", "integer_out_of_range"),
        ("[" + str(-(2**63) - 1) + "]", "integer_out_of_range"),
        ("[" + "9" * 5000 + "]", "integer_out_of_range"),
        ('{"a": ', "malformed_json"),
        (b"\xff\xfe\x00", "malformed_json"),
        (" " * 20_000 + "[]", "json_too_large"),
    ],
)
def test_loads_refuses_with_a_code_naming_the_field(text: str | bytes, code: str) -> None:
    with pytest.raises(JSONTextError) as caught:
        loads(text, "metadata", max_bytes=10_000)
    assert caught.value.code == code and "metadata" in caught.value.message
    assert status_for(caught.value) == (413 if code == "json_too_large" else 422)


def test_loads_accepts_64_bit_integers_and_ordinary_json() -> None:
    assert loads(f"[{2**64 - 1}, {-(2**63)}, 1.5e300]", "f") == [2**64 - 1, -(2**63), 1.5e300]
    assert loads('{"a": "[[[\\"", "b": [[[]]]}', "f") == {"a": '[[["', "b": [[[]]]}
