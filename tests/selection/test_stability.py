"""Stability across views: the matching and scoring on hand-made boxes, the views' box maps, and the
real NanoDet-m on real images (a clear single object is stable, a crowded scene is not)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from framescout.imaging import decode_image, to_bgr
from framescout.predictions import Predictions
from framescout.selection.stability import (
    MATCH_IOU,
    VIEW_BY_NAME,
    VIEWS,
    compare,
    match_boxes,
    pairwise_iou,
    stability_of,
)


def preds(boxes: list[list[float]], scores: list[float], names: list[str]) -> Predictions:
    return Predictions.from_arrays(
        np.array(boxes, dtype=np.float64).reshape(-1, 4), scores, np.zeros(len(scores)), class_name=names
    )


def test_pairwise_iou_values() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]], dtype=np.float64)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], dtype=np.float64)
    np.testing.assert_allclose(pairwise_iou(a, b), [[1.0, 50 / 150, 0.0], [0.0, 0.0, 0.0]])
    assert pairwise_iou(a, b[:0]).shape == (2, 0)


def test_greedy_matching_is_one_to_one_by_best_overlap() -> None:
    iou = np.array([[0.9, 0.8, 0.0], [0.85, 0.2, 0.0], [0.0, 0.0, MATCH_IOU - 0.01]])
    # row 0 takes column 0 (0.9); row 1's best is gone, its next (0.2) is below the threshold
    assert match_boxes(iou).tolist() == [0, -1, -1]
    assert match_boxes(np.array([[0.5, 0.6], [0.7, 0.4]])).tolist() == [1, 0]
    assert match_boxes(np.zeros((0, 3))).tolist() == []


def test_identical_views_agree_and_changes_disagree() -> None:
    base = preds([[0, 0, 10, 10], [50, 50, 80, 90]], [0.9, 0.4], ["cat", "dog"])
    same = compare(base, [base, base], ["flip", "noise"], 0.05)
    np.testing.assert_allclose(same.box_scores, [0.0, 0.0])
    assert same.only_in_other_views.size == 0 and same.components["disagreement"] == 0.0
    assert same.views == ("flip", "noise")
    # view 1 moves the cat a little and loses the dog; a new box (0.3) appears where the base saw none
    moved = preds(
        [[1, 0, 11, 10], [200, 200, 220, 220], [20, 60, 30, 70]], [0.9, 0.3, 0.01], ["cat", "car", "car"]
    )
    result = compare(base, [base, moved], ["noise", "flip"], 0.05)
    cat_iou = 90 / 110
    np.testing.assert_allclose(result.box_scores, [(1 - cat_iou) / 2, 0.5])
    np.testing.assert_allclose(result.only_in_other_views, [0.3])  # the 0.01 box is below the threshold
    assert 0 < result.components["iou"] < 1 and result.components["single_view"] > 0
    assert result.components["class"] == 0.0 and result.components["confidence"] == 0.0


def test_class_change_and_confidence_drop_count() -> None:
    base = preds([[0, 0, 10, 10]], [0.8], ["cat"])
    relabelled = preds([[0, 0, 10, 10]], [0.8], ["dog"])
    weaker = preds([[0, 0, 10, 10]], [0.2], ["cat"])
    assert compare(base, [relabelled], ["flip"], 0.05).box_scores.tolist() == [1.0]
    np.testing.assert_allclose(compare(base, [weaker], ["flip"], 0.05).box_scores, [0.6])
    probs = Predictions.from_arrays(base.xyxy, [0.8], [0], ["cat", "dog"], class_probs=[[0.8, 0.2]])
    mixed = Predictions.from_arrays(base.xyxy, [0.8], [0], ["cat", "dog"], class_probs=[[0.5, 0.5]])
    # distributions (0.8, 0.2) and (0.5, 0.5) overlap by 0.7
    np.testing.assert_allclose(compare(probs, [mixed], ["flip"], 0.05).box_scores, [0.3])


def test_boxes_only_other_views_saw_are_merged_per_object() -> None:
    base = Predictions.empty()
    a = preds([[10, 10, 50, 50]], [0.4], ["cat"])
    b = preds([[12, 10, 52, 50], [100, 100, 120, 130]], [0.6, 0.2], ["cat", "dog"])
    result = compare(base, [a, b], ["flip", "rescale"], 0.05)
    np.testing.assert_allclose(result.only_in_other_views, [0.6, 0.2])
    assert result.box_scores.shape == (0,) and result.components["disagreement"] == 1.0


@pytest.mark.parametrize("name", VIEWS)
def test_views_map_boxes_back_to_the_original_image(name: str) -> None:
    """A bright square drawn on the image is found again at its place through each view's box map."""
    image = np.zeros((120, 200, 3), dtype=np.uint8)
    cv2.rectangle(image, (40, 30), (89, 79), (255, 255, 255), thickness=-1)
    transformed, back = VIEW_BY_NAME[name].apply(image)
    mask = cv2.cvtColor(transformed, cv2.COLOR_BGR2GRAY) > 128
    ys, xs = np.nonzero(mask)
    found = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=np.float64)
    np.testing.assert_allclose(back(found), [[40, 30, 90, 80]], atol=2)
    if name in ("noise", "blur"):
        assert transformed.shape == image.shape and not np.array_equal(transformed, image)


@pytest.fixture(scope="module")
def detector(nanodet_path: Path) -> object:
    from framescout.models import OnnxDetector, load_class_names

    return OnnxDetector(nanodet_path, class_names=load_class_names(nanodet_path.parent / "coco.names"))


CLEAR = "000000208901.jpg"  # one airplane (one ground-truth box)
CROWD = "000000166918.jpg"  # a dinner party: 45 ground-truth boxes


def test_real_model_a_clear_object_is_stable_a_crowd_is_not(detector: object, coco_tiny: Path) -> None:
    """On NanoDet-m, one clear object (a coco-tiny image with one ground-truth box) keeps its box under a
    flip; a crowded scene disagrees much more with its flipped copy."""
    scores = {}
    for name in (CLEAR, CROWD):
        image = to_bgr(decode_image((coco_tiny / "val2017" / name).read_bytes()))
        base = detector.predict(image, confidence=0.05)  # type: ignore[attr-defined]
        result = stability_of(detector, image, base, ("flip",), 0.05)  # type: ignore[arg-type]
        assert result.box_scores.shape == (len(base),)
        assert ((result.box_scores >= 0) & (result.box_scores <= 1)).all()
        scores[name] = result
    clear, crowd = scores[CLEAR], scores[CROWD]
    assert clear.components["disagreement"] < crowd.components["disagreement"]
    assert clear.box_scores[0] < 0.15  # the most confident box of the clear image is stable
    assert len(clear.only_in_other_views) < len(crowd.only_in_other_views)


def test_real_model_stability_is_reproducible(detector: object, samples: Path) -> None:
    """Every view is deterministic (the noise is seeded), so the local and the Ray path score an image
    the same; the box scores line up with the base boxes."""
    image = to_bgr(decode_image((samples / "dog.jpg").read_bytes()))
    base = detector.predict(image, confidence=0.05)  # type: ignore[attr-defined]
    views = ("flip", "rescale", "noise")
    first = stability_of(detector, image, base, views, 0.05)  # type: ignore[arg-type]
    again = stability_of(detector, image.copy(), base, views, 0.05)  # type: ignore[arg-type]
    assert len(base) and first.box_scores.shape == (len(base),) and first.views == views
    np.testing.assert_array_equal(first.box_scores, again.box_scores)
    np.testing.assert_array_equal(first.only_in_other_views, again.only_in_other_views)
    assert first.components == again.components
    assert set(first.components) == {"iou", "class", "confidence", "single_view", "disagreement"}
