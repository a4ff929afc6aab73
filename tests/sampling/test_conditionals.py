"""The conditionals rule agrees with Roboflow's own implementation, edge cases included.

The reference is the official `roboflow` package: its `count_comparisons` and `check_box_size`
helpers, plus the per-prediction loop of `Workspace.active_learning` restated below.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framescout import Predictions
from framescout.sampling import Frame, RoboflowConditionals
from framescout.sampling.rule_configs import Conditionals

active_learning_utils = pytest.importorskip(
    "roboflow.util.active_learning_utils", reason="the roboflow package is in the dev extra"
)

DEFAULTS = Conditionals().model_dump()


def roboflow_would_upload(predictions: list[dict[str, Any]], conditionals: dict[str, Any]) -> bool:
    """The decision loop of roboflow's Workspace.active_learning, for one image's predictions."""
    c = {**DEFAULTS, **conditionals}
    if not active_learning_utils.count_comparisons(
        predictions, c["required_objects_count"], c["required_class_count"], c["target_classes"]
    ):
        return False
    for prediction in predictions:
        if not active_learning_utils.check_box_size(
            prediction, c["minimum_size_requirement"], c["maximum_size_requirement"]
        ):
            continue
        low, high = c["confidence_interval"]
        if low <= prediction["confidence"] * 100 <= high:
            if len(c["target_classes"]) > 0 and prediction["class"] not in c["target_classes"]:
                continue
            return True
    return False


def ours(predictions: list[dict[str, Any]], conditionals: dict[str, Any]) -> bool:
    rule = RoboflowConditionals(**{**DEFAULTS, **conditionals})
    return rule.check(Frame(Predictions.from_roboflow(predictions), 0.0)) is not None


CLASSES = ["person", "car", "dog", "unknown-thing"]
# Pixel sizes are whole or half pixels, as detectors and Roboflow's JSON report them; this keeps
# width * height exact so "exactly at the bound" means the same thing in both implementations.
sizes = st.integers(0, 400).map(lambda v: v / 2)
confidences = st.one_of(
    st.sampled_from([0.0, 0.1, 0.29, 0.3, 0.31, 0.5, 0.9, 0.99, 1.0]),
    st.integers(0, 1000).map(lambda v: v / 1000),
)
prediction = st.builds(
    lambda cls, conf, x, y, w, h: {"x": x, "y": y, "width": w, "height": h, "confidence": conf, "class": cls},
    st.sampled_from(CLASSES),
    confidences,
    st.integers(0, 600),
    st.integers(0, 600),
    sizes,
    sizes,
)
conditionals = st.fixed_dictionaries(
    {},
    optional={
        "required_objects_count": st.integers(0, 4),
        "required_class_count": st.integers(0, 3),
        "target_classes": st.lists(st.sampled_from([*CLASSES, "zebra"]), max_size=3, unique=True),
        "minimum_size_requirement": st.one_of(st.just(float("-inf")), st.integers(0, 3000).map(float)),
        "maximum_size_requirement": st.one_of(st.just(float("inf")), st.integers(3001, 80000).map(float)),
        "confidence_interval": st.tuples(st.integers(0, 100), st.integers(0, 100)).map(sorted).map(list),
    },
)


@settings(max_examples=600, deadline=None)
@given(st.lists(prediction, max_size=6), conditionals)
def test_agrees_with_roboflow_on_random_inputs(
    predictions: list[dict[str, Any]], cond: dict[str, Any]
) -> None:
    assert ours(predictions, cond) == roboflow_would_upload(predictions, cond)


@settings(max_examples=300, deadline=None)
@given(st.lists(prediction, min_size=1, max_size=4), st.data())
def test_agrees_at_exact_size_and_confidence_edges(predictions: list[dict[str, Any]], data: Any) -> None:
    """Bounds taken from the predictions themselves: box area exactly at a size bound, confidence
    exactly at an interval edge."""
    pick = data.draw(st.sampled_from(predictions))
    area = pick["width"] * pick["height"]
    pct = round(pick["confidence"] * 100)
    cond = {
        "minimum_size_requirement": data.draw(st.sampled_from([area, float("-inf")])),
        "maximum_size_requirement": data.draw(st.sampled_from([area, area + 1, float("inf")])),
        "confidence_interval": data.draw(st.sampled_from([[pct, 100], [0, pct], [pct, pct]])),
    }
    if cond["minimum_size_requirement"] >= cond["maximum_size_requirement"]:
        cond["minimum_size_requirement"] = float("-inf")
    assert ours(predictions, cond) == roboflow_would_upload(predictions, cond)


@pytest.mark.parametrize(
    ("predictions", "cond", "expected"),
    [
        ([], {}, False),  # empty predictions never upload
        ([], {"required_objects_count": 0}, False),
        # box area exactly at a bound is rejected: the comparison is strict
        (
            [{"x": 5, "y": 5, "width": 10, "height": 10, "confidence": 0.5, "class": "a"}],
            {"minimum_size_requirement": 100},
            False,
        ),
        (
            [{"x": 5, "y": 5, "width": 10, "height": 10, "confidence": 0.5, "class": "a"}],
            {"maximum_size_requirement": 100},
            False,
        ),
        (
            [{"x": 5, "y": 5, "width": 10, "height": 10, "confidence": 0.5, "class": "a"}],
            {"minimum_size_requirement": 99.5, "maximum_size_requirement": 100.5},
            True,
        ),
        # confidence exactly at an interval edge is accepted: the comparison is inclusive
        ([{"x": 5, "y": 5, "width": 10, "height": 10, "confidence": 0.3, "class": "a"}], {}, True),
        ([{"x": 5, "y": 5, "width": 10, "height": 10, "confidence": 0.99, "class": "a"}], {}, True),
        ([{"x": 5, "y": 5, "width": 10, "height": 10, "confidence": 0.995, "class": "a"}], {}, False),
        # unknown classes: counted as objects, never as targets
        (
            [{"x": 5, "y": 5, "width": 10, "height": 10, "confidence": 0.5, "class": "mystery"}],
            {"target_classes": ["person"]},
            False,
        ),
        ([{"x": 5, "y": 5, "width": 10, "height": 10, "confidence": 0.5, "class": "mystery"}], {}, True),
        # required_class_count counts boxes of the target classes
        (
            [{"x": 5, "y": 5, "width": 10, "height": 10, "confidence": 0.5, "class": "person"}],
            {"target_classes": ["person"], "required_class_count": 2},
            False,
        ),
        # the box that passes size must be the one that passes confidence
        (
            [
                {"x": 5, "y": 5, "width": 10, "height": 10, "confidence": 0.1, "class": "a"},
                {"x": 5, "y": 5, "width": 1, "height": 1, "confidence": 0.5, "class": "a"},
            ],
            {"minimum_size_requirement": 50},
            False,
        ),
    ],
)
def test_documented_edge_cases(
    predictions: list[dict[str, Any]], cond: dict[str, Any], expected: bool
) -> None:
    assert roboflow_would_upload(predictions, cond) is expected
    assert ours(predictions, cond) is expected
