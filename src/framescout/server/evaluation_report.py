"""The evaluation route's JSON: one version's measures (part of `framescout.evaluation`'s work), or
two versions over the same frames side by side with the differences.

`framescout.evaluation.evaluate` does the measuring (COCO AP like pycocotools); this module only
adds what the caller knows (the version, the number of frames), answers an empty set of frames with
null measures instead of an error, and subtracts two versions' measures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from framescout.evaluation import EvalImage, evaluate

CLASS_MEASURES = ("ap", "ap50", "precision", "recall", "f1", "best_threshold")
"""The per-class measures a comparison subtracts (``support`` is the same on the same frames)."""
OVERALL_MEASURES = ("ap", "ap50", "recommended_threshold")


def version_report(version: str, images: Sequence[EvalImage]) -> dict[str, Any]:
    """``model_version``, ``images`` and `Evaluation.to_json`'s fields; with no frame, the counts are
    0 and every measure is null (``per_class`` empty, curves empty): nothing was measured."""
    measured = evaluate(images).to_json()
    if not images:
        measured = {key: _nothing(value) for key, value in measured.items()}
    return {"model_version": version, "images": len(images), **measured}


def _nothing(value: Any) -> Any:
    """What a measure of no frame is: 0 for a count, null for a number, an empty list or mapping."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return 0
    if isinstance(value, dict):
        return {}
    if isinstance(value, list):
        return []
    return None


def comparison(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """``base``'s report with ``compare`` (``other``'s, over the same frames) and ``delta``: other
    minus base for the overall measures and per class (null where either side has none)."""
    delta: dict[str, Any] = {key: _minus(other.get(key), base.get(key)) for key in OVERALL_MEASURES}
    ours, theirs = base.get("per_class") or {}, other.get("per_class") or {}
    delta["per_class"] = {
        name: {m: _minus(theirs.get(name, {}).get(m), ours.get(name, {}).get(m)) for m in CLASS_MEASURES}
        for name in sorted(ours.keys() | theirs.keys())
    }
    return {**base, "compare": other, "delta": delta}


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
