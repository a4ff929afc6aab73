"""The frames a model version is measured on: ground truth beside that version's predictions.

A frame has ground truth when a person reviewed it (``review_status`` ``reviewed``, even with no box:
a true negative) or when it still waits for review but annotations were uploaded for it as ground
truth; a rejected frame has none. A frame has predictions of version V when it was uploaded by a
device running V (``images.model_version``, so a frame on which V detected nothing counts), when a
run of V over it is recorded (``prediction_runs``: ``framescout models predict``, the predictions
route, a duplicate upload; also with no box) or when prediction rows of V were added to it (label
assist). A prediction row without a version belongs to its image's, and one without a confidence
counts as certain (`UNSCORED`).

Everything is read with one set-based query per call (no query per image), streamed in chunks of
`CHUNK_ROWS` rows, so 100k reviewed frames cost one pass over their annotation rows (the existing
indexes ``ix_images_project_review`` and ``ix_annotations_image_kind`` serve it; the time:
``benchmarks/evaluation_query.py``, docs/benchmarks.md).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Executable, Integer, and_, case, exists, func, or_, select, union
from sqlalchemy.orm import Session, aliased

from framescout.evaluation import EvalImage
from framescout.predictions.box import Box
from framescout.store.errors import NotFound
from framescout.store.models import (
    GROUND_TRUTH,
    PREDICTION,
    REVIEWED,
    Annotation,
    Image,
    ImageTag,
    ModelVersion,
    PredictionRun,
    Project,
)
from framescout.store.version_stats import _version_key

CHUNK_ROWS = 5000
"""Rows fetched from the database at a time while streaming."""
UNSCORED = 1.0
"""The confidence of a stored prediction that has none (an annotation file of ``kind=prediction`` in
a format without scores): certain, as `framescout.predictions.box.predictions_from_boxes` takes it."""


@dataclass(frozen=True)
class EvalFilter:
    """Which frames to measure on; ``None`` means "any". ``since`` is naive UTC and compares with
    when the frame was seen (``observed_at``, else when it was uploaded)."""

    rule: str | None = None
    tag: str | None = None
    device_id: str | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class VersionFrames:
    """A model version of a project: how many frames it predicted and how many of them have ground
    truth (``evaluable``), and whether it is registered (``framescout models add``)."""

    model_version: str
    registered: bool
    predicted: int
    evaluable: int


def has_truth() -> ColumnElement[bool]:
    """The image has ground truth: reviewed, or waiting for review with uploaded ground-truth boxes."""
    box = aliased(Annotation)  # the outer query may read ``annotations`` too: no auto-correlation
    uploaded = exists().where(box.image_id == Image.id, box.kind == GROUND_TRUTH)
    return or_(Image.review_status == REVIEWED, and_(Image.review_status.is_(None), uploaded))


def _version_of_row() -> ColumnElement[str | None]:
    """A prediction row's version: its own, else its image's."""
    return func.coalesce(Annotation.model_version, Image.model_version)


def predicted_by(version: str) -> ColumnElement[bool]:
    """The image has predictions of ``version``: a device running it uploaded the frame, a run of it
    is recorded (`PredictionRun`, also when it found nothing), or rows of that version were added."""
    box = aliased(Annotation)
    rows = exists().where(box.image_id == Image.id, box.kind == PREDICTION, box.model_version == version)
    run = exists().where(PredictionRun.image_id == Image.id, PredictionRun.model_version == version)
    return or_(Image.model_version == version, run, rows)


def _frames(project: Project, versions: Sequence[str], f: EvalFilter) -> list[ColumnElement[bool]]:
    """The conditions on ``images`` for frames of ``project`` with truth, predicted by every version."""
    conditions = [Image.project_id == project.id, has_truth(), *(predicted_by(v) for v in versions)]
    if f.rule is not None:
        conditions.append(Image.sampling_rule == f.rule)
    if f.device_id is not None:
        conditions.append(Image.device_id == f.device_id)
    if f.tag is not None:
        conditions.append(exists().where(ImageTag.image_id == Image.id, ImageTag.name == f.tag))
    if f.since is not None:
        conditions.append(func.coalesce(Image.observed_at, Image.created_at) >= f.since)
    return conditions


def common_eval_images(
    session: Session, project: Project, versions: Sequence[str], f: EvalFilter = EvalFilter()
) -> dict[str, list[EvalImage]]:
    """The frames with ground truth and predictions of *every* one of ``versions``: per version, its
    `EvalImage`s (the same truth, that version's predictions) over the same frames, ordered by image
    id; each box list in its stored order. One streamed query; the cyclic garbage collector pauses
    meanwhile (`paused_gc`: the millions of boxes of 100k frames would set it scanning them again
    and again, a third of the time)."""
    wanted = list(dict.fromkeys(versions))
    version = _version_of_row()
    boxes_of_frame = and_(
        Annotation.image_id == Image.id,
        or_(Annotation.kind == GROUND_TRUTH, and_(Annotation.kind == PREDICTION, version.in_(wanted))),
    )
    query = (
        select(Image.id, Annotation.kind, version, Annotation.position, *BOX_COLUMNS)
        .outerjoin(Annotation, boxes_of_frame)
        .where(*_frames(project, wanted, f))
    )  # unordered: sorting a million rows in the database costs more than sorting lists here
    truth: dict[str, list[tuple[int, Box]]] = {}
    predicted: dict[str, dict[str, list[tuple[int, Box]]]] = {}
    with paused_gc():
        for image_id, kind, row_version, position, name, x0, y0, x1, y1, score, crowd in _streamed(
            session, query
        ):
            if image_id not in truth:
                truth[image_id], predicted[image_id] = [], {v: [] for v in wanted}
            if kind == GROUND_TRUTH:
                truth[image_id].append((position, Box(name, x0, y0, x1, y1, iscrowd=bool(crowd))))
            elif kind == PREDICTION:
                box = Box(name, x0, y0, x1, y1, UNSCORED if score is None else score)
                predicted[image_id][str(row_version)].append((position, box))
        out: dict[str, list[EvalImage]] = {v: [] for v in wanted}
        for image_id in sorted(truth):
            boxes = _in_order(truth[image_id])
            for v in wanted:
                out[v].append(EvalImage(image_id, boxes, _in_order(predicted[image_id][v])))
    return out


BOX_COLUMNS = (
    Annotation.class_name,
    Annotation.x_min,
    Annotation.y_min,
    Annotation.x_max,
    Annotation.y_max,
    Annotation.confidence,
    Annotation.iscrowd,
)


def _in_order(boxes: list[tuple[int, Box]]) -> list[Box]:
    """The boxes by their stored position (a stable sort: only positions are compared)."""
    boxes.sort(key=itemgetter(0))
    return [box for _, box in boxes]


def _streamed(session: Session, query: Executable) -> Iterator[Sequence[Any]]:
    """The rows of ``query`` in chunks of `CHUNK_ROWS` (a server-side cursor on PostgreSQL), through
    the Core connection: the ORM's per-row bookkeeping would double the time of 100k frames."""
    return iter(session.connection().execute(query.execution_options(yield_per=CHUNK_ROWS)))


def eval_images(
    session: Session, project: Project, version: str, f: EvalFilter = EvalFilter()
) -> list[EvalImage]:
    """The frames `evaluate` measures ``version`` on (see `common_eval_images`)."""
    return common_eval_images(session, project, [version], f)[version]


_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector (reference counting goes on) while building many objects
    that stay alive; overlapping pauses (two requests at once) resume it only when the last ends,
    and only if it was on when the first began."""
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()


def is_known_version(session: Session, project: Project, version: str) -> bool:
    """A registered model version of that name, or any frame or prediction of it in the project."""
    if version.isdigit() and session.scalar(
        select(exists().where(ModelVersion.project_id == project.id, ModelVersion.version == int(version)))
    ):
        return True
    in_project = select(Image.id).where(Image.project_id == project.id)
    return bool(
        session.scalar(
            select(
                or_(
                    exists().where(Image.project_id == project.id, Image.model_version == version),
                    exists().where(
                        PredictionRun.model_version == version, PredictionRun.image_id.in_(in_project)
                    ),
                    exists().where(
                        Annotation.kind == PREDICTION,
                        Annotation.model_version == version,
                        Annotation.image_id.in_(in_project),
                    ),
                )
            )
        )
    )


def check_known_version(session: Session, project: Project, version: str) -> None:
    """`NotFound` ``model_version_not_found`` unless `is_known_version`."""
    if not is_known_version(session, project, version):
        raise NotFound(
            "model_version_not_found",
            f"project {project.slug!r} has no model version {version!r}: none registered under that "
            "name and no prediction of it (list them: GET …/evaluation/versions)",
        )


def version_frames(session: Session, project: Project) -> list[VersionFrames]:
    """Every version with predictions in the project, or registered, oldest first (numeric versions
    in numeric order): frames it predicted and how many of them have ground truth."""
    rows = union(
        select(Image.id.label("image_id"), Image.model_version.label("version")).where(
            Image.project_id == project.id, Image.model_version.is_not(None)
        ),
        select(PredictionRun.image_id, PredictionRun.model_version)
        .join(Image, Image.id == PredictionRun.image_id)
        .where(Image.project_id == project.id),
        select(Annotation.image_id, Annotation.model_version)  # rows of another version than the image's
        .join(Image, Image.id == Annotation.image_id)
        .where(
            Image.project_id == project.id,
            Annotation.kind == PREDICTION,
            Annotation.model_version != func.coalesce(Image.model_version, ""),
        ),
    ).subquery()
    counts = session.execute(
        select(rows.c.version, func.count(), func.sum(case((has_truth(), 1), else_=0).cast(Integer)))
        .join(Image, Image.id == rows.c.image_id)
        .group_by(rows.c.version)
    ).all()
    registered = {
        str(v)
        for v in session.scalars(select(ModelVersion.version).where(ModelVersion.project_id == project.id))
    }
    found = {str(v): (int(n), int(e or 0)) for v, n, e in counts}
    names = sorted(found.keys() | registered, key=_version_key)
    return [VersionFrames(v, v in registered, *found.get(v, (0, 0))) for v in names]


def newest_evaluable(versions: Sequence[VersionFrames]) -> str | None:
    """The newest version (last in `version_frames`' order) with at least one evaluable frame."""
    return next((v.model_version for v in reversed(versions) if v.evaluable), None)
