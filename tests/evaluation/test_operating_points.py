"""F1-optimal thresholds, undefined values and the JSON, on hand-made cases whose answers are worked
out in the comments."""

from __future__ import annotations

import json

import pytest

from framescout.evaluation import EvalImage, evaluate
from framescout.predictions import Box


def at(x: float, name: str = "cat", confidence: float | None = None) -> Box:
    """A 10x10 box at (x, 0); boxes 20 apart do not overlap."""
    return Box(name, x, 0, x + 10, 10, confidence)


def test_best_threshold_maximises_f1_at_iou_half() -> None:
    # 4 cats; predictions by score: 0.9 hit, 0.8 hit, 0.7 miss, 0.6 hit, 0.3 miss.
    # F1 = 2tp / (tp + fp + 4): 0.9 → 2/5, 0.8 → 4/6, 0.7 → 4/7, 0.6 → 6/8 (best), 0.3 → 6/9.
    truth = [at(0), at(20), at(40), at(60)]
    found = [at(0, confidence=0.9), at(20, confidence=0.8), at(200, confidence=0.7)]
    found += [at(41, confidence=0.6), at(300, confidence=0.3)]
    cat = evaluate([EvalImage("a", truth, found)]).per_class["cat"]
    assert cat.best_threshold == 0.6 and cat.support == 4
    assert cat.precision == pytest.approx(0.75) and cat.recall == pytest.approx(0.75)
    assert cat.f1 == pytest.approx(0.75)


def test_a_threshold_keeps_every_box_of_its_score() -> None:
    # 2 cats; a hit at 0.9, then a hit and a miss both at 0.5, then a miss at 0.4. Cutting between the
    # two 0.5 boxes is impossible: 0.9 → F1 2/3 (tp 1, fp 0), 0.5 → F1 4/5 (tp 2, fp 1), 0.4 → 4/6.
    truth = [at(0), at(20)]
    found = [at(0, confidence=0.9), at(100, confidence=0.5), at(20, confidence=0.5), at(200, confidence=0.4)]
    cat = evaluate([EvalImage("a", truth, found)]).per_class["cat"]
    assert cat.best_threshold == 0.5 and cat.f1 == pytest.approx(0.8)
    assert cat.precision == pytest.approx(2 / 3) and cat.recall == 1.0


def test_equal_f1_goes_to_the_higher_threshold() -> None:
    # 2 cats; a hit at 0.9 (F1 2/3), misses at 0.8 and 0.7, a hit at 0.6 (F1 4/6 = 2/3): a tie.
    truth = [at(0), at(20)]
    found = [at(0, confidence=0.9), at(100, confidence=0.8), at(200, confidence=0.7), at(20, confidence=0.6)]
    assert evaluate([EvalImage("a", truth, found)]).per_class["cat"].best_threshold == 0.9


def test_recommended_threshold_pools_every_class() -> None:
    # cat: hit 0.9, miss 0.6; dog: hit 0.8, hit 0.5 (3 truth boxes). Pooled by score:
    # 0.9 → tp1 fp0: 2/4; 0.8 → tp2: 4/5; 0.6 → tp2 fp1: 4/6; 0.5 → tp3 fp1: 6/7 (best).
    # The cat alone is best at 0.9 (F1 1), the dog at 0.5.
    truth = [at(0), at(20, "dog"), at(40, "dog")]
    found = [at(0, confidence=0.9), at(100, confidence=0.6), at(20, "dog", 0.8), at(40, "dog", 0.5)]
    result = evaluate([EvalImage("a", truth, found)])
    assert result.recommended_threshold == 0.5
    assert result.overall.f1 == pytest.approx(6 / 7) and result.overall.recall == 1.0
    assert result.per_class["cat"].best_threshold == 0.9 and result.per_class["dog"].best_threshold == 0.5


def test_undefined_values_are_null_not_nan() -> None:
    images = [
        EvalImage("only-truth", [at(0, "cat")], []),
        EvalImage("only-predictions", [], [at(0, "dog", 0.7)]),
        EvalImage("empty", [], []),
        EvalImage("crowd", [Box("bird", 0, 0, 100, 100, None, True)], [at(5, "bird", 0.9)]),
    ]
    result = evaluate(images)
    cat, dog, bird = (result.per_class[n] for n in ("cat", "dog", "bird"))
    # truth but no prediction: AP 0, nothing predicted (precision undefined), nothing found
    assert (cat.ap, cat.ap50, cat.precision, cat.recall, cat.f1, cat.best_threshold) == (
        0,
        0,
        None,
        0,
        0,
        None,
    )
    # predictions but no truth: no AP, recall or F1; every prediction is wrong
    assert (dog.ap, dog.precision, dog.recall, dog.f1, dog.best_threshold, dog.support) == (
        None,
        0.0,
        None,
        None,
        None,
        0,
    )
    # only a crowd box: nothing counts (the prediction inside it is ignored)
    assert (bird.ap, bird.support, bird.precision) == (None, 0, None)
    assert result.ap == 0 and result.recommended_threshold is None
    text = json.dumps(result.to_json(), allow_nan=False)
    data = json.loads(text)
    assert data["per_class"]["dog"] == {
        "ap": None,
        "ap50": None,
        "precision": 0.0,
        "recall": None,
        "f1": None,
        "best_threshold": None,
        "support": 0,
    }
    assert set(data["pr_curve"]["per_class"]) == {"cat"}  # only classes with truth have a curve
    assert data["pr_curve"]["overall"]["precision"] == [0.0] * 101  # no true positive anywhere


def test_no_images_at_all() -> None:
    result = evaluate([])
    assert (result.ap, result.ap50, result.recommended_threshold, result.per_class) == (None, None, None, {})
    assert json.loads(json.dumps(result.to_json(), allow_nan=False))["confusion"]["matrix"] == [[0]]


def test_the_json_has_the_routes_fields() -> None:
    truth = [at(0), at(20, "dog")]
    found = [at(0, confidence=0.9), at(22, "dog", 0.4)]
    data = evaluate([EvalImage("a", truth, found)]).to_json()
    for key in ("ground_truth_boxes", "predictions", "ap", "ap50", "per_class", "recommended_threshold"):
        assert key in data
    assert set(data["per_class"]["cat"]) == {
        "ap",
        "ap50",
        "precision",
        "recall",
        "f1",
        "best_threshold",
        "support",
    }
    assert (data["ground_truth_boxes"], data["predictions"]) == (2, 2)
    curve = data["pr_curve"]
    assert len(curve["recall"]) == 101 and curve["recall"][:3] == [0.0, 0.01, 0.02]
    assert len(curve["overall"]["precision"]) == 101 and set(curve["per_class"]) == {"cat", "dog"}
    # the dog (IoU 0.67) is found at 0.4: every recall point is reached by then
    assert curve["per_class"]["dog"]["confidence"] == [0.4] * 101
    assert data["iou_thresholds"][0] == 0.5 and len(data["iou_thresholds"]) == 10


def test_bad_input_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="image_id 'a' appears more than once"):
        evaluate([EvalImage("a", [], []), EvalImage("a", [], [])])
    with pytest.raises(ValueError, match="a prediction of image 'b' has no confidence"):
        evaluate([EvalImage("a", [], []), EvalImage("b", [], [at(0)])])
    with pytest.raises(ValueError, match="iou_thresholds"):
        evaluate([], iou_thresholds=[])
    with pytest.raises(ValueError, match="max_detections"):
        evaluate([], max_detections=0)


def test_custom_iou_thresholds() -> None:
    # IoU of the prediction is 8x10 / (2·100 - 80) = 2/3: found at 0.5 and 0.6, not at 0.7 or 0.8.
    result = evaluate([EvalImage("a", [at(0)], [at(2, confidence=0.9)])], iou_thresholds=[0.5, 0.6, 0.7, 0.8])
    assert result.ap == pytest.approx(0.5) and result.ap50 == pytest.approx(1.0)
