"""Which reviewed frames a reviewer corrected: ground truth that differs from the model's predictions.

A frame counts as corrected when a box was added, removed, relabelled, or moved so that it overlaps
its prediction by less than `MATCH_IOU`. Compared in Python over reviewed frames only (their number
is bounded by people's work).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from framescout.store.models import GROUND_TRUTH, PREDICTION, REVIEWED, Annotation, Image, Project

MATCH_IOU = 0.5
"""A reviewed box "is" a prediction when they share the class and overlap at least this much."""

Box4 = tuple[str, float, float, float, float]
"""``(class, x_min, y_min, x_max, y_max)``."""


def corrections(session: Session, project: Project) -> tuple[dict[str, int], dict[str, int]]:
    """Per model version: reviewed frames, and those whose ground truth differs from the predictions.

    Each ground-truth box must match a distinct prediction of the same class with IoU ≥ `MATCH_IOU`,
    and no prediction may be left over."""
    rows = session.execute(
        select(
            Image.id,
            Image.model_version,
            Annotation.kind,
            Annotation.class_name,
            Annotation.x_min,
            Annotation.y_min,
            Annotation.x_max,
            Annotation.y_max,
        )
        .outerjoin(Annotation, Annotation.image_id == Image.id)
        .where(
            Image.project_id == project.id,
            Image.model_version.is_not(None),
            Image.review_status == REVIEWED,
        )
    ).all()
    version_of: dict[str, str] = {}
    boxes: dict[str, dict[str, list[Box4]]] = defaultdict(lambda: {GROUND_TRUTH: [], PREDICTION: []})
    for image_id, version, kind, name, x0, y0, x1, y1 in rows:
        version_of[image_id] = str(version)
        entry = boxes[image_id]  # a reviewed frame without any box still gets its (empty) entry
        if kind in (GROUND_TRUTH, PREDICTION):
            entry[kind].append((name, x0, y0, x1, y1))
    reviewed: dict[str, int] = defaultdict(int)
    corrected: dict[str, int] = defaultdict(int)
    for image_id, version in version_of.items():
        reviewed[version] += 1
        if not same_boxes(boxes[image_id][GROUND_TRUTH], boxes[image_id][PREDICTION]):
            corrected[version] += 1
    return dict(reviewed), dict(corrected)


def same_boxes(truth: list[Box4], predictions: list[Box4]) -> bool:
    """Whether the reviewer kept the predictions as they were (greedy match, best IoU first)."""
    if len(truth) != len(predictions):
        return False
    pairs = sorted(
        ((_iou(t, p), i, j) for i, t in enumerate(truth) for j, p in enumerate(predictions) if t[0] == p[0]),
        reverse=True,
    )
    used_t: set[int] = set()
    used_p: set[int] = set()
    for iou, i, j in pairs:
        if iou < MATCH_IOU:
            break
        if i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
    return len(used_t) == len(truth)


def _iou(a: Box4, b: Box4) -> float:
    """Intersection over union of two boxes (the class is ignored)."""
    w = min(a[3], b[3]) - max(a[1], b[1])
    h = min(a[4], b[4]) - max(a[2], b[2])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[3] - a[1]) * (a[4] - a[2]) + (b[3] - b[1]) * (b[4] - b[2]) - inter
    return inter / union if union > 0 else 0.0
