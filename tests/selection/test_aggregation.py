"""Box-aware aggregation: calibrated per-box chances of error, their sum / mean / normalisation per
image, class weights from the labelled set, and the box budget."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pytest

from framescout import Predictions
from framescout.selection import Pool, SelectionError, select
from framescout.selection.aggregation import (
    PRIOR_BOXES,
    REPORTED,
    calibrated,
    class_weights,
    class_weights_from_json,
    image_errors,
)
from framescout.selection.budget import expected_boxes, select_boxes
from framescout.selection.explain import explain
from framescout.selection.folder import PoolItem, ScannedPool
from framescout.selection.pipeline import default_strategy, pick
from framescout.selection.stability import Stability


def boxes(confidences: Sequence[float], classes: Sequence[str] | None = None) -> Predictions:
    names = list(classes) if classes is not None else ["person"] * len(confidences)
    xyxy = [[10.0 * i, 0.0, 10.0 * i + 8, 8.0] for i in range(len(confidences))]
    return Predictions.from_arrays(xyxy, confidences, [0] * len(confidences), class_name=names)


def test_calibration_sharpens_around_one_half() -> None:
    c = np.array([0.05, 0.2, 0.35, 0.5, 0.65, 0.9])
    p = calibrated(c)
    assert np.all(np.diff(p) > 0) and p[3] == pytest.approx(0.5)
    assert np.all(p[:3] < c[:3]) and np.all(p[4:] > c[4:])  # further from 1/2 on both sides
    assert calibrated(c, sharpness=1.0) == pytest.approx(c)
    assert calibrated(np.array([0.0, 1.0])) == pytest.approx([0.0, 1.0], abs=1e-9)


def test_expected_errors_split_into_false_positives_and_misses() -> None:
    e = image_errors(boxes([0.9, 0.4, 0.3, 0.05]))
    p = calibrated(np.array([0.9, 0.4, 0.3, 0.05]))
    assert e.false_positives == pytest.approx((1 - p[0]) + (1 - p[1]))  # reported boxes: wrong
    assert e.misses == pytest.approx(p[2] + p[3])  # unreported boxes: real but missed
    assert e.objects == pytest.approx(p.sum()) and e.reported == 2
    assert e.errors == pytest.approx(e.false_positives + e.misses)
    assert e.doubtful[0][:2] == ("person", 0.4)  # the box adding the most expected error first
    assert e.stability is None and e.class_weight == 1.0
    empty = image_errors(boxes([]))
    assert (empty.errors, empty.objects, empty.score("mean"), empty.doubtful) == (0.0, 0.0, 0.0, ())
    assert e.score("normalised") == pytest.approx(e.errors / (e.objects + PRIOR_BOXES))
    assert set(e.components("sum")) >= {"score", "expected_errors", "expected_objects", "reported_boxes"}
    with pytest.raises(ValueError, match="aggregate must be one of"):
        e.score("max")  # type: ignore[arg-type]


def test_sum_mean_and_normalised_each_rank_their_own_kind_of_image_first() -> None:
    crowd = boxes([0.95] * 30 + [0.45] * 6)  # a busy scene: most errors, many sure boxes
    single = boxes([0.36, 0.36])  # two likely false positives: the most errors per object
    doubtful = boxes([0.45] * 4 + [0.3] * 2)  # several doubtful boxes and little else
    pool = Pool(predictions=[crowd, single, doubtful])
    first = {m: int(select(pool, 1, m)[0]) for m in ("errors_sum", "errors_mean", "errors_normalised")}
    assert first == {"errors_sum": 0, "errors_mean": 1, "errors_normalised": 2}


def test_confident_boxes_are_not_uncertain_but_faint_boxes_in_numbers_do_not_dominate() -> None:
    sure = boxes([0.97, 0.96, 0.95])
    faint = boxes([0.06] * 200)  # what a detector at confidence 0.05 reports everywhere
    borderline = boxes([0.45, 0.5])
    scores = Pool(predictions=[sure, faint, borderline]).uncertainty("errors_sum")
    assert scores[2] > scores[1] > scores[0]


def test_class_weights_favour_rare_and_weak_classes() -> None:
    w = class_weights({"person": 400, "car": 100, "dog": 25, "zebra": 0}, {"car": 0.9, "dog": 0.2})
    assert w["dog"] > w["car"] and w["zebra"] == 3.0  # never labelled: the ceiling
    assert w["person"] == 0.5  # common: the floor (sqrt(62.5/400) = 0.40 clipped)
    assert w["car"] == pytest.approx((100 / 100) ** 0.5 * 1.1)
    assert class_weights({}) == {}
    sample = [boxes([0.45], ["dog"]), boxes([0.45], ["person"])]
    plain = Pool(predictions=sample).uncertainty("errors_sum")
    weighted = Pool(predictions=sample, class_weights=w).uncertainty("errors_sum")
    assert plain[0] == pytest.approx(plain[1]) and weighted[0] > weighted[1]
    assert int(select(Pool(predictions=sample, class_weights=w), 1, "errors_normalised")[0]) == 0


def test_class_weights_from_an_evaluation_or_coco_annotations() -> None:
    evaluation = {"per_class": {"car": {"support": 50, "ap50": 0.8}, "dog": {"support": 5, "ap50": None}}}
    assert class_weights_from_json(evaluation) == class_weights({"car": 50, "dog": 5}, {"car": 0.8})
    coco = {
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "dog"}],
        "annotations": [{"category_id": 1}] * 9 + [{"category_id": 2}],
    }
    weights = class_weights_from_json(json.loads(json.dumps(coco)))
    assert weights["dog"] > weights["car"]
    with pytest.raises(ValueError, match="expected an evaluation"):
        class_weights_from_json({"images": []})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"per_class": {"car": {"support": 5, "ap50": float("nan")}}},
            r"per_class\['car'\]\.ap50 must be a finite",
        ),
        ({"per_class": {"car": {"support": 5, "ap50": float("inf")}}}, "ap50 must be a finite number"),
        ({"per_class": {"car": {"support": 5, "ap50": 45.0}}}, r"ap50 must be \[0, 1\]"),
        ({"per_class": {"car": {"support": 1e400}}}, "support must be a finite number"),
        ({"per_class": {"car": {"support": -3}}}, "support must be >= 0"),
        ({"per_class": {"car": {"support": "many"}}}, "support must be a finite number"),
        ({"categories": [{"id": 1}], "annotations": []}, "every COCO category needs an id"),
        ({"categories": [{"id": [1], "name": "car"}], "annotations": []}, "every COCO category needs an id"),
        ([], "expected a JSON object"),
        ("weights", "expected a JSON object"),
    ],
)
def test_class_weights_from_json_refuses_what_is_not_a_weight(data: object, message: str) -> None:
    """NaN or infinite values (json.loads reads NaN and Infinity) made NaN weights, so NaN scores and a
    meaningless ranking, or an OverflowError / KeyError traceback; each is now one ValueError."""
    with pytest.raises(ValueError, match=message):
        class_weights_from_json(json.loads(json.dumps(data)))
    coco = {
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [{"category_id": [1]}, {"category_id": 1}],
    }
    assert class_weights_from_json(coco) == {"car": 1.0}  # an odd annotation id matches no class


def test_box_budget_picks_the_shortest_prefix_reaching_the_budget() -> None:
    rng = np.random.default_rng(1)
    sample = [boxes(rng.uniform(0.05, 1.0, int(rng.integers(0, 12))).tolist()) for _ in range(60)]
    pool = Pool(predictions=sample)
    cost = expected_boxes(pool)
    assert cost.tolist() == [int((p.confidence >= REPORTED).sum()) for p in sample]
    ranking = select(pool, len(pool), "errors_normalised")
    for budget in (1, 7, 40, 150):
        picked = select_boxes(pool, budget, "errors_normalised")
        assert picked.tolist() == ranking[: len(picked)].tolist()  # the strategy's own order
        assert cost[picked].sum() >= budget and cost[picked[:-1]].sum() < budget
    everything = select_boxes(pool, 10**6, "errors_normalised")
    assert sorted(everything.tolist()) == list(range(len(pool)))  # budget beyond the pool: all of it
    assert len(select_boxes(pool, 40, "errors_normalised", max_images=3)) == 3
    random_pick = select_boxes(pool, 40, "random", seed=4)
    assert cost[random_pick].sum() >= 40 and cost[random_pick[:-1]].sum() < 40


def test_box_budget_refuses_what_it_cannot_count() -> None:
    with pytest.raises(SelectionError, match="needs detector predictions"):
        select_boxes(Pool(size=5), 10, "random")
    pool = Pool(predictions=[boxes([0.9])])
    with pytest.raises(SelectionError, match="box budget must be >= 1"):
        select_boxes(pool, 0, "random")
    with pytest.raises(SelectionError, match="image budget must be >= 1"):
        select_boxes(pool, 3, "random", max_images=0)
    with pytest.raises(SelectionError, match="box-aware strategies need detector predictions"):
        select(Pool(probs=np.full((3, 2), 0.5)), 1, "errors_sum")


def test_every_pick_of_a_detector_pool_carries_its_score_components() -> None:
    pool = Pool(predictions=[boxes([0.9, 0.4]), boxes([0.45] * 3), boxes([])])
    for strategy in ("errors_normalised", "margin", "random"):
        details = explain(pool, select(pool, 3, strategy), strategy)
        assert all(d.components and "expected_errors" in d.components for d in details)
    details = explain(pool, select(pool, 3, "errors_normalised"), "errors_normalised")
    assert [d.uncertainty_rank for d in details] == [1, 2, 3]
    assert details[0].components["score"] == details[0].uncertainty["errors_normalised"]
    assert "expected errors" in details[0].reason and "most doubtful: person 0.45" in details[0].reason


def test_unstable_boxes_and_boxes_only_other_views_saw_add_expected_errors() -> None:
    p = boxes([0.8, 0.6, 0.2])
    steady = Stability(np.zeros(3), np.zeros(0), views=("flip",))
    shaky = Stability(np.array([0.9, 0.0, 0.0]), np.array([0.7, 0.1]), views=("flip",))
    plain, calm, rough = image_errors(p), image_errors(p, steady), image_errors(p, shaky)
    assert calm.errors == pytest.approx(plain.errors) and calm.stability == 0.0
    assert rough.false_positives > calm.false_positives  # the first box moved or vanished in a view
    assert rough.misses == pytest.approx(calm.misses + calibrated(np.array([0.7, 0.1])).sum())
    assert rough.only_in_other_views == 1 and rough.stability == pytest.approx(0.45)
    assert {"stability", "only_in_other_views"} <= set(rough.components("normalised"))
    assert "stability" not in plain.components("normalised")
    pool = Pool(predictions=[p, p], stability=[steady, shaky])
    assert int(select(pool, 1, "errors_sum")[0]) == 1


def test_the_cli_pipeline_picks_by_images_or_boxes_with_class_weights() -> None:
    sample = [boxes([0.45, 0.9], ["dog", "car"]), boxes([0.45, 0.9], ["car", "car"]), boxes([0.97])]
    items = [PoolItem(f"{i}.jpg", bytes) for i in range(3)]
    scanned = ScannedPool(items=items, pool=Pool(predictions=sample), hashes=["a", "b", "c"])
    assert (default_strategy(True), default_strategy(False)) == ("errors_normalised", "kcenter")
    plain = pick(scanned, "errors_normalised", budget=1)
    weighted = pick(scanned, "errors_normalised", budget=1, class_weights={"dog": 3.0, "car": 0.5})
    assert (
        weighted.indices.tolist() == [0] and weighted.details[0].components["class_weight"] == 1.75
    )  # mean over its reported boxes
    assert scanned.pool.class_weights is None and plain.details[0].components["class_weight"] == 1.0
    by_boxes = pick(scanned, "errors_normalised", budget_boxes=3)
    assert sum(d.components["reported_boxes"] for d in by_boxes.details) >= 3
    assert len(pick(scanned, "errors_normalised", budget=1, budget_boxes=5).indices) == 1  # capped
    with pytest.raises(SelectionError, match="give an image budget or a box budget"):
        pick(scanned, "errors_normalised")
