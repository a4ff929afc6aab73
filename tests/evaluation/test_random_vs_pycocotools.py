"""`evaluate` equals pycocotools on small random sets: empty images, images with only predictions or
only truth, ties in score and in IoU (integer coordinates), crowd boxes, more than 100 predictions."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation.coco_reference import assert_matches, reference
from framescout.evaluation import EvalImage, evaluate
from framescout.predictions import Box

CLASSES = ("cat", "dog", "zebra")
SCORES = st.one_of(st.sampled_from([0.1, 0.5, 0.9]), st.floats(0.0, 1.0, allow_nan=False))
cheap = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def truth_boxes(draw: st.DrawFn) -> Box:
    """A truth box; a crowd box is large (a region of many objects), as in COCO."""
    crowd = draw(st.integers(0, 4)) == 0
    x, y = draw(st.integers(0, 40)), draw(st.integers(0, 40))
    w, h = (
        (draw(st.integers(20, 60)), draw(st.integers(20, 60))) if crowd else (draw(st.integers(1, 30)),) * 2
    )
    return Box(draw(st.sampled_from(CLASSES)), x, y, x + w, y + h, None, crowd)


@st.composite
def predictions_near(draw: st.DrawFn, truth: list[Box]) -> list[Box]:
    """Predictions as a detector makes them: 0-3 near each truth box (jittered, mostly its class;
    several inside one crowd box), plus a few anywhere."""
    found = []
    for box in truth:
        for _ in range(draw(st.integers(0, 3))):
            jitter = [draw(st.integers(-4, 4)) for _ in range(4)]
            x_min, y_min = box.x_min + jitter[0], box.y_min + jitter[1]
            if box.iscrowd:
                x_min, y_min = box.x_min + draw(st.integers(0, 15)), box.y_min + draw(st.integers(0, 15))
                x_max, y_max = x_min + draw(st.integers(2, 12)), y_min + draw(st.integers(2, 12))
            else:
                x_max, y_max = max(x_min + 1, box.x_max + jitter[2]), max(y_min + 1, box.y_max + jitter[3])
            name = box.class_name if draw(st.integers(0, 3)) else draw(st.sampled_from(CLASSES))
            found.append(Box(name, x_min, y_min, x_max, y_max, draw(SCORES)))
    for _ in range(draw(st.integers(0, 4))):
        x, y, w, h = (draw(st.integers(0, 40)) for _ in range(4))
        found.append(Box(draw(st.sampled_from(CLASSES)), x, y, x + w + 1, y + h + 1, draw(SCORES)))
    return draw(st.permutations(found))


@st.composite
def image_sets(draw: st.DrawFn) -> list[EvalImage]:
    images = []
    for n in range(draw(st.integers(0, 5))):
        truth = draw(st.lists(truth_boxes(), max_size=6))
        images.append(EvalImage(f"frame-{n}", truth, draw(predictions_near(truth))))
    return images


@cheap
@given(image_sets())
def test_random_sets_match_pycocotools(images: list[EvalImage]) -> None:
    assert_matches(evaluate(images), reference(images), tolerance=1e-9)


@cheap
@given(image_sets(), st.randoms(use_true_random=False))
def test_shuffled_boxes_match_pycocotools(images: list[EvalImage], rng: random.Random) -> None:
    """Box order decides ties (equal IoU, equal score): in another order still as pycocotools."""
    shuffled = [
        EvalImage(
            i.image_id,
            rng.sample(list(i.truth), len(i.truth)),
            rng.sample(list(i.predictions), len(i.predictions)),
        )
        for i in rng.sample(images, len(images))
    ]
    assert_matches(evaluate(shuffled), reference(shuffled), tolerance=1e-9)


def test_more_than_100_predictions_per_image_and_class() -> None:
    """COCO's maxDets=100 counts the 100 best predictions of each image and class."""
    rng = random.Random(3)
    images = []
    for n in range(3):
        truth = [Box("cat", x, 0, x + 10, 10) for x in range(0, 400, 8)]
        found = [
            Box(rng.choice(["cat", "dog"]), x + rng.uniform(-3, 3), 0, x + 10, 10, rng.random())
            for x in range(0, 400)
        ]
        images.append(EvalImage(str(n), truth, found))
    assert all(sum(b.class_name == "cat" for b in i.predictions) > 150 for i in images)
    result = evaluate(images)
    assert_matches(result, reference(images), tolerance=1e-9)
    assert result.per_class["cat"].ap != evaluate(images, max_detections=300).per_class["cat"].ap


def test_equal_iou_goes_to_the_truth_box_listed_last() -> None:
    """A prediction exactly between two truth boxes takes the later one (pycocotools' loop keeps the
    last of equal IoUs), which leaves the earlier one to the next prediction."""
    truth = [Box("cat", 0, 0, 10, 10), Box("cat", 2, 0, 12, 10)]
    found = [Box("cat", 1, 0, 11, 10, 0.9), Box("cat", -3, 0, 7, 10, 0.8)]
    result = evaluate([EvalImage("a", truth, found)])
    assert_matches(result, reference([EvalImage("a", truth, found)]), tolerance=1e-9)
    assert result.per_class["cat"].ap50 == pytest.approx(1.0) and result.per_class["cat"].recall == 1.0
