"""The evaluation route's JSON: one version's measures, or two versions measured on the same frames
side by side with their differences.

`framescout.evaluation.evaluate` does the measuring (COCO AP as pycocotools computes it; undefined
measures are null, so no frame at all is ``images`` 0 with null measures, not an error); this module
adds what the caller knows (the version, the number of frames) and subtracts two versions' measures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from framescout.evaluation import EvalImage, evaluate
from framescout.store.db import Database
from framescout.store.evaluation_data import EvalFilter, check_known_version, common_eval_images, paused_gc
from framescout.store.models import Project

OVERALL_MEASURES = ("ap", "ap50", "recommended_threshold")
POOLED_MEASURES = ("precision", "recall", "f1")
"""All classes pooled at the recommended threshold (the JSON's ``overall``)."""
CLASS_MEASURES = ("ap", "ap50", "precision", "recall", "f1", "best_threshold")
"""The per-class measures a comparison subtracts (``support`` is the same on the same frames)."""


def evaluation_report(
    db: Database, project: Project, versions: Sequence[str], f: EvalFilter
) -> dict[str, Any]:
    """The route's answer for one version, or for two (the first compared with the second) on the
    frames both predicted: `NotFound` ``model_version_not_found`` for a version the project does not
    know. The garbage collector pauses while the boxes are gathered and measured (`paused_gc`)."""
    with paused_gc():
        with db.reading() as session:
            for version in versions:
                check_known_version(session, project, version)
            frames = common_eval_images(session, project, versions, f)
        reports = [version_report(version, frames[version]) for version in versions]
    return reports[0] if len(reports) == 1 else comparison(reports[0], reports[1])


def version_report(version: str, images: Sequence[EvalImage]) -> dict[str, Any]:
    """``model_version``, ``images`` and `Evaluation.to_json`'s fields."""
    return {"model_version": version, "images": len(images), **evaluate(images).to_json()}


def comparison(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """``base``'s report with ``compare`` (``other``'s, over the same frames) and ``delta``: other
    minus base for the overall measures, the pooled ones (``overall``) and per class (null where
    either side has none)."""
    delta: dict[str, Any] = _deltas(base, other, OVERALL_MEASURES)
    delta["overall"] = _deltas(base.get("overall") or {}, other.get("overall") or {}, POOLED_MEASURES)
    ours, theirs = base.get("per_class") or {}, other.get("per_class") or {}
    delta["per_class"] = {
        name: _deltas(ours.get(name, {}), theirs.get(name, {}), CLASS_MEASURES)
        for name in sorted(ours.keys() | theirs.keys())
    }
    return {**base, "compare": other, "delta": delta}


def _deltas(base: dict[str, Any], other: dict[str, Any], keys: Sequence[str]) -> dict[str, float | None]:
    return {key: _minus(other.get(key), base.get(key)) for key in keys}


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
