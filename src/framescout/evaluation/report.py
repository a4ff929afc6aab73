"""`Evaluation` as the evaluation route's JSON (docs/evaluation.md lists every field): the issue's
fields (``ground_truth_boxes``, ``predictions``, ``ap``, ``ap50``, ``per_class``,
``recommended_threshold``, ``pr_curve``) and ``overall``, ``confusion``, ``errors``,
``iou_thresholds``, ``max_detections``. Undefined values are null, never NaN."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from framescout.evaluation.ap import RECALL_POINTS

if TYPE_CHECKING:
    from framescout.evaluation.results import Evaluation, PrCurve


def evaluation_json(evaluation: Evaluation, *, image_id_limit: int) -> dict[str, Any]:
    """The JSON object (``model_version`` and ``images`` are the caller's)."""
    confusion = evaluation.confusion
    return {
        "ground_truth_boxes": evaluation.ground_truth_boxes,
        "predictions": evaluation.predictions,
        "ap": evaluation.ap,
        "ap50": evaluation.ap50,
        "per_class": {name: asdict(metrics) for name, metrics in evaluation.per_class.items()},
        "recommended_threshold": evaluation.recommended_threshold,
        "overall": asdict(evaluation.overall),
        "pr_curve": {
            "iou": 0.5,
            "recall": [round(r, 2) for r in RECALL_POINTS.tolist()],
            "overall": _curve(evaluation.pr_curve),
            "per_class": {name: _curve(curve) for name, curve in evaluation.class_curves.items()},
        },
        "confusion": {
            "iou": 0.5,
            "confidence": confusion.confidence,
            "classes": list(confusion.classes),
            "matrix": [list(row) for row in confusion.matrix],
            "cells": [
                {
                    "truth": cell.truth,
                    "predicted": cell.predicted,
                    "count": cell.count,
                    "images": len(cell.image_ids),
                    "image_ids": list(cell.image_ids[:image_id_limit]),
                }
                for cell in confusion.cells
            ],
        },
        "errors": {
            name: {
                "false_positives": errors.false_positives,
                "misses": errors.misses,
                "false_positive_images": [
                    {"image_id": i, "count": n} for i, n in errors.false_positive_images[:image_id_limit]
                ],
                "missed_images": [
                    {"image_id": i, "count": n} for i, n in errors.missed_images[:image_id_limit]
                ],
            }
            for name, errors in evaluation.errors.items()
        },
        "iou_thresholds": list(evaluation.iou_thresholds),
        "max_detections": evaluation.max_detections,
    }


def _curve(curve: PrCurve) -> dict[str, list[float] | list[float | None]]:
    return {"precision": list(curve.precision), "confidence": list(curve.confidence)}
