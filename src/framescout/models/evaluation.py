"""COCO-style evaluation of a detector on an annotated image folder (pycocotools, imported lazily)."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framescout.imaging import read_image_file, to_bgr
from framescout.models.base import ModelError
from framescout.models.onnx import OnnxDetector


@dataclass(frozen=True)
class CocoScore:
    """AP@[.5:.95], AP50, images evaluated and end-to-end images per second."""

    ap: float
    ap50: float
    images: int
    images_per_s: float


def coco_ap(
    detector: OnnxDetector,
    annotations: str | Path,
    images_dir: str | Path,
    *,
    score_threshold: float = 0.05,
    iou: float = 0.6,
    progress: Callable[[int], None] | None = None,
) -> CocoScore:
    """Run ``detector`` (multi-label, at most 100 boxes per image) over every image of a COCO
    annotation file and score it with pycocotools; class names are matched to category names."""
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise ModelError("evaluation needs pycocotools: pip install pycocotools") from None
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(annotations))
    category = {c["name"]: c["id"] for c in truth.loadCats(truth.getCatIds())}
    missing = sorted(set(detector.class_names) - set(category))
    if len(missing) == len(detector.class_names):
        raise ModelError("none of the model's class names appear among the annotation categories")
    results: list[dict[str, Any]] = []
    infos = truth.loadImgs(truth.getImgIds())
    start = time.perf_counter()
    for done, info in enumerate(infos, start=1):
        image = to_bgr(read_image_file(Path(images_dir) / info["file_name"]))
        predictions = detector.predict(image, score_threshold, iou, multi_label=True, max_detections=100)
        for (x1, y1, x2, y2), score, name in zip(
            predictions.xyxy.tolist(), predictions.confidence.tolist(), predictions.class_name, strict=True
        ):
            if name in category:
                results.append(
                    {
                        "image_id": info["id"],
                        "category_id": category[name],
                        "bbox": [x1, y1, x2 - x1, y2 - y1],
                        "score": score,
                    }
                )
        if progress:
            progress(done)
    seconds = time.perf_counter() - start
    if not results:
        return CocoScore(0.0, 0.0, len(infos), len(infos) / max(seconds, 1e-9))
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(truth, truth.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return CocoScore(float(evaluation.stats[0]), float(evaluation.stats[1]), len(infos), len(infos) / seconds)
