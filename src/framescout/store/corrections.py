"""What reviewers changed: each reviewed frame's ground truth against its predictions of one model version.

A *unit* is one reviewed frame compared with the predictions of one model version it carries (a frame
predicted by two versions is two units; a frame whose model saw nothing is one unit with no
predictions). Its ground-truth boxes and predictions are paired greedily, in three rounds, each taking
the pairs of the highest IoU first and using a box at most once:

1. same class, IoU ≥ `MATCH_IOU`: the reviewer kept the prediction (*unchanged* box);
2. another class, IoU ≥ `MATCH_IOU`: *relabelled*;
3. same class, 0 < IoU < `MATCH_IOU` (the best overlap left for either box): *moved*.

Ground truth left unpaired was *added*, predictions left unpaired were *removed*. A unit with none of
the four is *unchanged*: exactly when every box was kept (the old "corrected" test). The reviewed
frames are read in one query and their boxes per batch of frames (by id), both set-based; the boxes
are paired in NumPy (IoU of every same-frame pair at once), only the greedy walk over the pairs that
overlap is a Python loop.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, compress
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, Executable, Select, func, select
from sqlalchemy.orm import Session

from framescout.store.models import (
    GROUND_TRUTH,
    PREDICTION,
    REVIEWED,
    Annotation,
    Image,
    PredictionRun,
    Project,
)

MATCH_IOU = 0.5
"""A reviewed box "is" a prediction when they overlap at least this much (and share the class)."""

CHANGE_KINDS = ("added", "removed", "relabelled", "moved")
BATCH_FRAMES = 5000
"""Reviewed frames whose boxes are loaded and paired at once (bounds the memory of a 100k-frame run)."""


@dataclass
class Changes:
    """What review changed over a group of units (reviewed frames × model version)."""

    reviewed: int = 0
    unchanged: int = 0
    added: int = 0
    removed: int = 0
    relabelled: int = 0
    moved: int = 0

    @property
    def corrections(self) -> int:
        """Box changes of every kind together."""
        return self.added + self.removed + self.relabelled + self.moved

    @property
    def corrected(self) -> int:
        """Reviewed frames with at least one change."""
        return self.reviewed - self.unchanged

    def add(self, counts: NDArray[np.int64]) -> None:
        """Count one unit whose changes are ``counts`` (in `CHANGE_KINDS` order)."""
        added, removed, relabelled, moved = (int(n) for n in counts)
        self.reviewed += 1
        self.unchanged += int(not counts.any())
        self.added += added
        self.removed += removed
        self.relabelled += relabelled
        self.moved += moved


@dataclass
class BoxTable:
    """Boxes of many units: ``unit[i]`` owns box ``xyxy[i]`` of class code ``cls[i]``."""

    unit: NDArray[np.int64]
    cls: NDArray[np.int64]
    xyxy: NDArray[np.float64]

    @classmethod
    def of(cls, rows: list[tuple[int, int, float, float, float, float]]) -> BoxTable:
        data = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
        return cls(data[:, 0].astype(np.int64), data[:, 1].astype(np.int64), data[:, 2:])


def unit_changes(n_units: int, truth: BoxTable, predictions: BoxTable) -> NDArray[np.int64]:
    """Per unit, ``[added, removed, relabelled, moved]`` (the rounds of the module docstring)."""
    ti, pj = _same_unit_pairs(truth.unit, predictions.unit, n_units)
    iou = _iou(truth.xyxy[ti], predictions.xyxy[pj])
    same = truth.cls[ti] == predictions.cls[pj]
    stage = np.where(iou >= MATCH_IOU, np.where(same, 0, 1), np.where(same & (iou > 0), 2, 3))
    keep = stage < 3
    ti, pj, iou, stage = ti[keep], pj[keep], iou[keep], stage[keep]
    order = np.lexsort((pj, ti, -iou, stage))
    used_t, used_p = bytearray(len(truth.unit)), bytearray(len(predictions.unit))
    matched: list[tuple[int, int]] = []  # (truth box, round) of each pair taken
    for s, i, j in zip(stage[order].tolist(), ti[order].tolist(), pj[order].tolist(), strict=True):
        if not used_t[i] and not used_p[j]:
            used_t[i] = used_p[j] = 1
            matched.append((i, s))
    pairs = np.asarray(matched, dtype=np.int64).reshape(-1, 2)
    pair_unit = truth.unit[pairs[:, 0]]
    by_round = [np.bincount(pair_unit[pairs[:, 1] == s], minlength=n_units) for s in range(3)]
    paired = by_round[0] + by_round[1] + by_round[2]
    added = np.bincount(truth.unit, minlength=n_units) - paired
    removed = np.bincount(predictions.unit, minlength=n_units) - paired
    return np.stack([added, removed, by_round[1], by_round[2]], axis=1).astype(np.int64)


def _same_unit_pairs(
    t_unit: NDArray[np.int64], p_unit: NDArray[np.int64], n_units: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Every (truth box, prediction) index pair of the same unit, without a Python loop."""
    p_order = np.argsort(p_unit, kind="stable")
    p_counts = np.bincount(p_unit, minlength=n_units)
    p_start = np.cumsum(p_counts) - p_counts
    reps = p_counts[t_unit]
    ti = np.repeat(np.arange(len(t_unit), dtype=np.int64), reps)
    within = np.arange(len(ti), dtype=np.int64) - np.repeat(np.cumsum(reps) - reps, reps)
    pj = p_order[p_start[t_unit[ti]] + within] if len(ti) else np.zeros(0, dtype=np.int64)
    return ti, pj.astype(np.int64)


def _iou(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Row-wise intersection over union of two ``(N, 4)`` arrays of ``x0, y0, x1, y1``."""
    w = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    h = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = w * h
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    out = np.zeros(len(inter), dtype=np.float64)
    np.divide(inter, union, out=out, where=union > 0)
    return out


@dataclass(frozen=True)
class Unit:
    """One reviewed frame compared with one model version's predictions (``None``: the frame names
    no version and has no predictions)."""

    image_id: str
    sampling_rule: str | None
    source: str | None
    model_version: str | None


@dataclass
class _Batch:
    units: list[Unit] = field(default_factory=list)
    index: dict[tuple[str, str | None], int] = field(default_factory=dict)
    units_of: dict[str, list[int]] = field(default_factory=dict)


def reviewed_changes(
    session: Session,
    project: Project,
    *,
    model_version: str | None = None,
    since: datetime | None = None,
) -> Iterator[tuple[Unit, NDArray[np.int64]]]:
    """Every unit of ``project``'s reviewed frames (of ``model_version`` only, seen since ``since``)
    with its ``[added, removed, relabelled, moved]``, a batch of `BATCH_FRAMES` frames at a time."""
    frames = _plain_rows(
        session,
        select(Image.id, Image.sampling_rule, Image.source, Image.model_version).where(
            *_reviewed(project, since)
        ),
    )
    for start in range(0, len(frames), BATCH_FRAMES):
        batch = frames[start : start + BATCH_FRAMES]
        yield from _batch_changes(session, batch, model_version)


def _reviewed(project: Project, since: datetime | None) -> tuple[ColumnElement[bool], ...]:
    """The conditions on `Image` for ``project``'s reviewed frames seen since ``since``."""
    found = (Image.project_id == project.id, Image.review_status == REVIEWED)
    if since is None:
        return found
    return (*found, seen_at() >= since)


def seen_at() -> ColumnElement[datetime]:
    """When a frame was seen: its ``observed_at``, else its upload time (as the kept-frames chart)."""
    return func.coalesce(Image.observed_at, Image.created_at)


def _runs(image_ids: list[str]) -> Select[str, str]:
    """The model versions that predicted these frames (`PredictionRun`: also those that found nothing)."""
    return select(PredictionRun.image_id, PredictionRun.model_version).where(
        PredictionRun.image_id.in_(image_ids)
    )


def _plain_rows(session: Session, query: Executable) -> list[Any]:
    """``query``'s rows as the driver returns them (text and numbers need no conversion): building a
    `Row` per box was most of the time on 100k frames."""
    result = session.connection().execute(query)
    rows = list(result.cursor.fetchall()) if result.cursor is not None else []
    result.close()
    return rows


def _batch_changes(
    session: Session, frames: Sequence[Any], model_version: str | None
) -> Iterator[tuple[Unit, NDArray[np.int64]]]:
    """The units of one batch of frames (``id, rule, source, version`` rows) and their changes."""
    version = func.coalesce(Annotation.model_version, Image.model_version)
    ids = [row[0] for row in frames]
    columns = _Columns.of(
        _plain_rows(
            session,
            select(
                Annotation.image_id,
                Annotation.kind,
                version,
                Annotation.class_name,
                Annotation.x_min,
                Annotation.y_min,
                Annotation.x_max,
                Annotation.y_max,
            )
            .join(Image, Image.id == Annotation.image_id)
            .where(
                Annotation.image_id.in_(ids),
                Annotation.kind.in_((GROUND_TRUTH, PREDICTION)),
            ),
        )
    )
    versions: dict[str, dict[str | None, None]] = defaultdict(dict)
    for image_id, _, _, own in frames:
        if own is not None:
            versions[image_id][own] = None
    for image_id, ver in columns.predicted_versions():
        versions[image_id][ver] = None
    for image_id, ver in _plain_rows(session, _runs(ids)):  # a version that ran and found nothing
        versions[image_id][ver] = None
    batch = _Batch()
    for image_id, rule, source, _ in frames:
        for carried in versions.get(image_id) or {None: None}:
            if model_version is None or carried == model_version:
                batch.index[(image_id, carried)] = len(batch.units)
                batch.units_of.setdefault(image_id, []).append(len(batch.units))
                batch.units.append(Unit(image_id, rule, source, carried))
    truth, predictions = columns.tables(batch)
    changes = unit_changes(len(batch.units), truth, predictions)
    yield from zip(batch.units, changes, strict=True)


@dataclass
class _Columns:
    """A batch's box rows (``image, kind, version, class, x0, y0, x1, y1``) as columns."""

    image_ids: tuple[str, ...]
    versions: tuple[str | None, ...]
    classes: NDArray[np.int64]
    xyxy: NDArray[np.float64]
    predicted: NDArray[np.bool_]

    @classmethod
    def of(cls, rows: Sequence[Any]) -> _Columns:
        if not rows:
            return cls((), (), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0, np.bool_))
        image_ids, kinds, versions, names, *coords = zip(*rows, strict=True)
        codes = {name: i for i, name in enumerate(set(names))}
        return cls(
            image_ids,
            versions,
            np.fromiter((codes[n] for n in names), np.int64, len(names)),
            np.asarray(coords, dtype=np.float64).T,
            np.asarray(kinds, dtype=object) == PREDICTION,
        )

    def predicted_versions(self) -> set[tuple[str, str]]:
        """The ``(image, version)`` pairs that have predictions."""
        pairs = zip(
            compress(self.image_ids, self.predicted), compress(self.versions, self.predicted), strict=True
        )
        return {(image_id, ver) for image_id, ver in pairs if ver is not None}

    def tables(self, batch: _Batch) -> tuple[BoxTable, BoxTable]:
        """Ground truth (one copy per unit of its frame) and the predictions of each unit's version."""
        rows = np.arange(len(self.image_ids))
        p_rows = rows[self.predicted]
        keys = ((self.image_ids[i], self.versions[i]) for i in p_rows.tolist())
        p_units = np.fromiter((batch.index.get(key, -1) for key in keys), np.int64, len(p_rows))
        p_rows, p_units = p_rows[p_units >= 0], p_units[p_units >= 0]
        t_rows = rows[~self.predicted]
        owners = [batch.units_of.get(self.image_ids[i], []) for i in t_rows.tolist()]
        t_units = np.fromiter(chain.from_iterable(owners), np.int64)
        t_rows = np.repeat(t_rows, [len(o) for o in owners]) if owners else t_rows
        return (
            BoxTable(t_units, self.classes[t_rows], self.xyxy[t_rows]),
            BoxTable(p_units, self.classes[p_rows], self.xyxy[p_rows]),
        )


def corrections(session: Session, project: Project) -> tuple[dict[str, int], dict[str, int]]:
    """Per model version: reviewed frames, and those whose ground truth differs from that version's
    predictions (any change of `reviewed_changes`). Frames naming no version are left out."""
    reviewed: dict[str, int] = defaultdict(int)
    corrected: dict[str, int] = defaultdict(int)
    for unit, changes in reviewed_changes(session, project):
        if unit.model_version is not None:
            reviewed[unit.model_version] += 1
            corrected[unit.model_version] += int(changes.any())
    return dict(reviewed), dict(corrected)
