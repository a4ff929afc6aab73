"""`evaluate` against pycocotools on real data: the coco-tiny images (val2017 and train2017, crowd
boxes included) with the real NanoDet-m predictions, and a degraded copy of those predictions."""

from __future__ import annotations

import contextlib
import io
import json
import random
from pathlib import Path

import pytest

from evaluation.coco_reference import COCO, COCOeval, assert_matches, reference
from framescout.evaluation import EvalImage, evaluate
from framescout.models import OnnxDetector, load_class_names
from framescout.predictions import Box
from framescout.predictions.box import boxes_from_predictions

SPLITS = ("val2017", "train2017")


@pytest.fixture(scope="module")
def nanodet_images(nanodet_path: Path, coco_tiny: Path) -> list[EvalImage]:
    """Every coco-tiny image: its COCO annotations as truth, NanoDet-m's predictions (score ≥ 0.05,
    multi-label, 100 per image, as `models.evaluation.coco_ap` runs it), in annotation-file order."""
    detector = OnnxDetector(nanodet_path, class_names=load_class_names(nanodet_path.parent / "coco.names"))
    images = []
    for split in SPLITS:
        data = json.loads((coco_tiny / "annotations" / f"instances_{split}.json").read_text())
        names = {c["id"]: c["name"] for c in data["categories"]}
        truth: dict[int, list[Box]] = {i["id"]: [] for i in data["images"]}
        for a in data["annotations"]:
            x, y, w, h = a["bbox"]
            truth[a["image_id"]].append(
                Box(names[a["category_id"]], x, y, x + w, y + h, None, bool(a["iscrowd"]))
            )
        for info in sorted(data["images"], key=lambda i: i["id"]):
            found = detector.predict(
                coco_tiny / split / info["file_name"], 0.05, 0.6, multi_label=True, max_detections=100
            )
            images.append(
                EvalImage(f"{split}/{info['id']}", truth[info["id"]], boxes_from_predictions(found))
            )
    return images


def degraded(images: list[EvalImage], seed: int = 7) -> list[EvalImage]:
    """The same predictions with a third dropped and the rest's corners jittered by up to 15% of size."""
    rng = random.Random(seed)
    out = []
    for image in images:
        kept = []
        for b in image.predictions:
            if rng.random() < 1 / 3:
                continue
            dx, dy = b.width * 0.15, b.height * 0.15
            kept.append(
                Box(
                    b.class_name,
                    b.x_min + rng.uniform(-dx, dx),
                    b.y_min + rng.uniform(-dy, dy),
                    b.x_max + rng.uniform(-dx, dx),
                    b.y_max + rng.uniform(-dy, dy),
                    b.confidence,
                )
            )
        out.append(EvalImage(image.image_id, image.truth, kept))
    return out


@pytest.mark.slow
def test_real_predictions_match_pycocotools(nanodet_images: list[EvalImage]) -> None:
    result = evaluate(nanodet_images)
    expected = reference(nanodet_images)
    assert_matches(result, expected)
    assert result.ap is not None and 0.2 < result.ap < 0.4  # NanoDet-m's known accuracy on COCO
    assert sum(m.ap is not None for m in result.per_class.values()) > 40
    assert any(b.iscrowd for i in nanodet_images for b in i.truth)
    assert result.ground_truth_boxes == sum(len(i.truth) for i in nanodet_images)
    assert result.predictions == sum(len(i.predictions) for i in nanodet_images)


@pytest.mark.slow
def test_matches_pycocotools_on_the_original_annotation_file(
    nanodet_images: list[EvalImage], coco_tiny: Path
) -> None:
    """The val2017 file as pycocotools reads it (its own xywh and areas, its 80 categories)."""
    val = [i for i in nanodet_images if i.image_id.startswith("val2017/")]
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(coco_tiny / "annotations" / "instances_val2017.json"))
        category = {c["name"]: c["id"] for c in truth.loadCats(truth.getCatIds())}
        results = [
            {
                "image_id": int(image.image_id.split("/")[1]),
                "category_id": category[b.class_name],
                "bbox": [b.x_min, b.y_min, b.width, b.height],
                "score": b.confidence,
            }
            for image in val
            for b in image.predictions
        ]
        run = COCOeval(truth, truth.loadRes(results), "bbox")
        run.evaluate()
        run.accumulate()
        run.summarize()
    result = evaluate(val)
    assert result.ap is not None and abs(result.ap - run.stats[0]) <= 1e-3
    assert result.ap50 is not None and abs(result.ap50 - run.stats[1]) <= 1e-3


@pytest.mark.slow
def test_degraded_predictions_score_lower_and_still_match(nanodet_images: list[EvalImage]) -> None:
    good, bad = evaluate(nanodet_images), evaluate(degraded(nanodet_images))
    assert_matches(bad, reference(degraded(nanodet_images)))
    assert good.ap is not None and bad.ap is not None and bad.ap < good.ap - 0.05
    assert good.ap50 is not None and bad.ap50 is not None and bad.ap50 < good.ap50
    assert good.overall.f1 is not None and bad.overall.f1 is not None and bad.overall.f1 < good.overall.f1
    person_good, person_bad = good.per_class["person"], bad.per_class["person"]
    assert person_good.ap is not None and person_bad.ap is not None and person_bad.ap < person_good.ap


@pytest.mark.slow
def test_real_evaluation_is_consistent(nanodet_images: list[EvalImage]) -> None:
    """The operating points, curves, confusion matrix and errors agree with each other on real data."""
    result = evaluate(nanodet_images)
    threshold = result.recommended_threshold
    assert threshold is not None and 0.05 <= threshold < 1
    table = result.confusion
    assert table.confidence == threshold
    k = len(table.classes)
    for label, name in enumerate(table.classes):
        metrics = result.per_class[name]
        # each truth box that counts is in one cell of its row
        assert sum(table.matrix[label]) == metrics.support
        errors = result.errors[name]
        assert errors.misses == sum(n for _, n in errors.missed_images)
        assert errors.false_positives == sum(n for _, n in errors.false_positive_images)
    counted = sum(sum(row) for row in table.matrix) - sum(table.matrix[k])
    assert counted == sum(m.support for m in result.per_class.values())
    kept = sum(1 for i in nanodet_images for b in i.predictions if b.confidence and b.confidence >= threshold)
    predicted = sum(table.matrix[r][c] for r in range(k + 1) for c in range(k))
    assert 0 < predicted <= kept  # crowd-matched predictions are in no cell
    assert json.loads(json.dumps(result.to_json(), allow_nan=False))["ap"] == result.ap
