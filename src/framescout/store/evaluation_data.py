"""The frames a model version is measured on: ground truth beside that version's predictions.

A frame has ground truth when a person reviewed it (``review_status`` ``reviewed``, even with no box:
a true negative) or when it still waits for review but annotations were uploaded for it as ground
truth; a rejected frame has none. A frame has predictions of version V when it was uploaded by a
device running V (``images.model_version``, so a frame on which V detected nothing counts) or when
prediction rows of V were added to it; a prediction row without a version belongs to its image's,
and one without a confidence counts as certain (`UNSCORED`).

Everything is read with one set-based query per call (no query per image), streamed in chunks of
`CHUNK_ROWS` rows, so 100k reviewed frames cost one pass over their annotation rows (the indexes
``ix_images_project_review`` and ``ix_annotations_image_kind`` serve it: see docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
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
    """The image has predictions of ``version`` (a device running it uploaded the frame, or rows of
    that version were added)."""
    box = aliased(Annotation)
    rows = exists().where(box.image_id == Image.id, box.kind == PREDICTION, box.model_version == version)
    return or_(Image.model_version == version, rows)


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


def iter_eval_images(
    session: Session, project: Project, versions: Sequence[str], f: EvalFilter = EvalFilter()
) -> Iterator[dict[str, EvalImage]]:
    """Per frame with ground truth and predictions of every one of ``versions``, one `EvalImage` per
    version (the same truth, that version's predictions), keyed by version; in one streamed query."""
    wanted = list(dict.fromkeys(versions))
    version = _version_of_row()
    boxes_of_frame = and_(
        Annotation.image_id == Image.id,
        or_(Annotation.kind == GROUND_TRUTH, and_(Annotation.kind == PREDICTION, version.in_(wanted))),
    )
    query = (
        select(
            Image.id,
            Annotation.kind,
            version,
            Annotation.class_name,
            Annotation.x_min,
            Annotation.y_min,
            Annotation.x_max,
            Annotation.y_max,
            Annotation.confidence,
            Annotation.iscrowd,
        )
        .outerjoin(Annotation, boxes_of_frame)
        .where(*_frames(project, wanted, f))
        .order_by(Image.id, Annotation.kind, Annotation.position)
    )
    current: str | None = None
    truth: list[Box] = []
    predictions: dict[str, list[Box]] = {}
    for image_id, kind, row_version, name, x0, y0, x1, y1, confidence, crowd in _streamed(session, query):
        if image_id != current:
            if current is not None:
                yield _per_version(current, truth, predictions, wanted)
            current, truth, predictions = image_id, [], {v: [] for v in wanted}
        if kind == GROUND_TRUTH:
            truth.append(Box(name, x0, y0, x1, y1, iscrowd=bool(crowd)))
        elif kind == PREDICTION:
            score = UNSCORED if confidence is None else confidence
            predictions[str(row_version)].append(Box(name, x0, y0, x1, y1, score))
    if current is not None:
        yield _per_version(current, truth, predictions, wanted)


def _streamed(session: Session, query: Executable) -> Iterator[Sequence[Any]]:
    """The rows of ``query`` in chunks of `CHUNK_ROWS` (a server-side cursor on PostgreSQL), through
    the Core connection: the ORM's per-row bookkeeping would double the time of 100k frames."""
    return iter(session.connection().execute(query.execution_options(yield_per=CHUNK_ROWS)))


def _per_version(
    image_id: str, truth: list[Box], predictions: dict[str, list[Box]], versions: list[str]
) -> dict[str, EvalImage]:
    return {v: EvalImage(image_id, truth, predictions[v]) for v in versions}


def eval_images(
    session: Session, project: Project, version: str, f: EvalFilter = EvalFilter()
) -> list[EvalImage]:
    """The frames `evaluate` measures ``version`` on (see `iter_eval_images`)."""
    return [frame[version] for frame in iter_eval_images(session, project, [version], f)]


def common_eval_images(
    session: Session, project: Project, versions: Sequence[str], f: EvalFilter = EvalFilter()
) -> dict[str, list[EvalImage]]:
    """The frames with ground truth and predictions of *every* one of ``versions``: per version, its
    `EvalImage`s over the same frames in the same order (for a side-by-side comparison)."""
    out: dict[str, list[EvalImage]] = {v: [] for v in versions}
    for frame in iter_eval_images(session, project, versions, f):
        for v, image in frame.items():
            out[v].append(image)
    return out


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
        select(Annotation.image_id, _version_of_row())
        .join(Image, Image.id == Annotation.image_id)
        .where(Image.project_id == project.id, Annotation.kind == PREDICTION, _version_of_row().is_not(None)),
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
