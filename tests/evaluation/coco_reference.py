"""The reference: pycocotools' COCOeval (bbox) run on exactly the boxes given to `evaluate`.

Images get COCO ids 1..N in input order and classes ids 1..K in sorted-name order, so pycocotools
breaks score ties the way `evaluate` documents (image order, then box order); boxes are passed as
``[x_min, y_min, x_max - x_min, y_max - y_min]``, the same floats `evaluate` computes with."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from framescout.evaluation import EvalImage
from framescout.predictions import Box

pycocotools = pytest.importorskip("pycocotools", reason="pycocotools (the reference) is in the dev extra")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

__all__ = ["COCO", "COCOeval", "Reference", "assert_matches", "coco_inputs", "reference"]


@dataclass(frozen=True)
class Reference:
    """pycocotools' AP, AP50 (-1 when no class has truth) and per-class AP/AP50 (None without truth)."""

    ap: float
    ap50: float
    per_class: dict[str, tuple[float | None, float | None]]
    seconds: float = 0.0


def _bbox(box: Box) -> list[float]:
    return [box.x_min, box.y_min, box.x_max - box.x_min, box.y_max - box.y_min]


def coco_inputs(images: Sequence[EvalImage]) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """The ground-truth dataset and the results list pycocotools takes, and the class names."""
    names = sorted({b.class_name for i in images for b in [*i.truth, *i.predictions]})
    category = {name: n for n, name in enumerate(names, start=1)}
    annotations: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for image_id, image in enumerate(images, start=1):
        for box in image.truth:
            bbox = _bbox(box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": category[box.class_name],
                    "bbox": bbox,
                    "area": bbox[2] * bbox[3],
                    "iscrowd": int(box.iscrowd),
                }
            )
        for box in image.predictions:
            results.append(
                {
                    "image_id": image_id,
                    "category_id": category[box.class_name],
                    "bbox": _bbox(box),
                    "score": box.confidence,
                }
            )
    dataset = {
        "images": [{"id": n, "width": 10_000, "height": 10_000} for n in range(1, len(images) + 1)],
        "annotations": annotations,
        "categories": [{"id": n, "name": name} for name, n in category.items()],
    }
    return dataset, results, names


def reference(images: Sequence[EvalImage]) -> Reference:
    """Run COCOeval (bbox, defaults) on the images; with no predictions at all (loadRes refuses an
    empty list) every class with truth has AP 0, as COCOeval defines it."""

    dataset, results, names = coco_inputs(images)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = dataset
        truth.createIndex()
        if not results:
            has_truth = {a["category_id"] for a in dataset["annotations"] if not a["iscrowd"]}
            per: dict[str, tuple[float | None, float | None]] = {
                n: ((0.0, 0.0) if i in has_truth else (None, None)) for i, n in enumerate(names, start=1)
            }
            score = 0.0 if has_truth else -1.0
            return Reference(score, score, per, time.perf_counter() - start)
        run = COCOeval(truth, truth.loadRes(results), "bbox")
        run.evaluate()
        run.accumulate()
        run.summarize()
    seconds = time.perf_counter() - start
    precision = run.eval["precision"][:, :, :, 0, -1]  # area "all", maxDets 100
    per_class: dict[str, tuple[float | None, float | None]] = {}
    for k, name in enumerate(names):
        values = precision[:, :, k]
        per_class[name] = (
            (float(values.mean()), float(values[0].mean())) if (values > -1).all() else (None, None)
        )
    return Reference(float(run.stats[0]), float(run.stats[1]), per_class, seconds)


def assert_matches(evaluation: Any, expected: Reference, tolerance: float = 1e-3) -> None:
    """`evaluate`'s AP, AP50 and per-class AP/AP50 equal the reference within ``tolerance``."""
    if expected.ap == -1:
        assert evaluation.ap is None and evaluation.ap50 is None
    else:
        assert evaluation.ap is not None and abs(evaluation.ap - expected.ap) <= tolerance
        assert evaluation.ap50 is not None and abs(evaluation.ap50 - expected.ap50) <= tolerance
    for name, (ap, ap50) in expected.per_class.items():
        metrics = evaluation.per_class[name]
        if ap is None:
            assert metrics.ap is None and metrics.ap50 is None, name
        else:
            assert abs(metrics.ap - ap) <= tolerance, (name, metrics.ap, ap)
            assert abs(metrics.ap50 - ap50) <= tolerance, (name, metrics.ap50, ap50)
    assert np.isfinite([m.ap for m in evaluation.per_class.values() if m.ap is not None]).all()
