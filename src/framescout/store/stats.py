"""Dashboard figures for one project, computed by the database (GROUP BY), not by loading rows.

Kept frames over time per sampling rule (by the time each frame was observed, else its upload time),
a confidence histogram of predictions, review progress, reports, and per model version the
thresholds that kept its frames, how many were reviewed and how many of those reviewers corrected —
the guide's "over time you will see fewer false detections" made visible.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from framescout.store.models import (
    GROUND_TRUTH,
    PREDICTION,
    REVIEWED,
    Annotation,
    Image,
    Project,
    Report,
)
from framescout.store.provenance import source_label

CONFIDENCE_RULE_KINDS = frozenset(
    {
        "confidence_below",
        "confidence_between",
        "confidence_near",
        "confidence_per_class",
        "threshold_schedule",
        "conditionals",
        "uncertainty",
    }
)
"""Rule types that keep a frame because the model was unsure of it (``Decision.rule_kind``)."""

HISTOGRAM_BINS = 20
NO_RULE = "(no rule)"
MATCH_IOU = 0.5
"""A reviewed box "is" a prediction when they share the class and overlap at least this much."""


def no_rule_label(source: str | None) -> str:
    """What a frame without a sampling rule is listed as: its source (``(no rule: roboflow client)``)."""
    return f"{NO_RULE[:-1]}: {source_label(source)})" if source else NO_RULE


@dataclass
class KeptOverTime:
    """Counts of kept frames per time bucket and sampling rule.

    Frames are placed by ``observed_at`` (when the device saw them) and, for the ``by_upload`` frames
    that carry no observed time, by upload time."""

    unit: str  # "hour" or "day"
    buckets: list[str]
    rules: list[str]
    counts: dict[str, list[int]]  # rule -> count per bucket
    observed: int = 0
    by_upload: int = 0

    @property
    def basis(self) -> str:
        """Which time the chart plots, in words."""
        if not self.by_upload:
            return "by observed time"
        if not self.observed:
            return "by upload time (no frame carries an observed time)"
        frames = "frame" if self.by_upload == 1 else "frames"
        return f"by observed time; {self.by_upload} {frames} without one by upload time"


@dataclass
class ModelVersionStats:
    """One model version's frames: the thresholds that kept them, and what reviewers made of them."""

    version: str
    frames: int
    by_confidence_rules: int
    mean_confidence: float | None
    thresholds: list[str] = field(default_factory=list)
    """``rule: threshold`` as parsed from the sampling reasons, e.g. ``low-conf: < 0.40``."""
    reviewed: int = 0
    corrected: int = 0
    """Reviewed frames whose ground truth differs from the predictions (a box added, removed,
    relabelled, or moved so that IoU < `MATCH_IOU`)."""

    @property
    def confidence_share(self) -> float:
        return self.by_confidence_rules / self.frames if self.frames else 0.0

    @property
    def corrected_share(self) -> float | None:
        return self.corrected / self.reviewed if self.reviewed else None


@dataclass
class ReviewProgress:
    total: int
    reviewed: int
    rejected: int
    ground_truth_boxes: int

    @property
    def pending(self) -> int:
        return self.total - self.reviewed - self.rejected

    @property
    def done_share(self) -> float:
        return (self.reviewed + self.rejected) / self.total if self.total else 0.0


@dataclass
class ProjectStats:
    progress: ReviewProgress
    kept: KeptOverTime
    histogram: list[int]
    model_versions: list[ModelVersionStats]
    open_bugs: int
    feedback: dict[str, int] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)


def _seen_at() -> ColumnElement[datetime]:
    """When a frame was seen: its ``observed_at`` (set at ingest from the upload), else its upload time."""
    return func.coalesce(Image.observed_at, Image.created_at)


def _bucket_expr(session: Session, unit: str, moment: ColumnElement[datetime]) -> ColumnElement[str]:
    """``moment`` truncated to the hour or day, as text, in the database's own dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(moment, "YYYY-MM-DD HH24:00" if unit == "hour" else "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d %H:00" if unit == "hour" else "%Y-%m-%d", moment)


def _as_datetime(value: datetime | str | None) -> datetime | None:
    """``min``/``max`` over ``coalesce`` may come back as text on SQLite."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def kept_over_time(session: Session, project: Project, *, max_buckets: int = 48) -> KeptOverTime:
    """Frames per rule per hour (when the frames span up to two days) or per day (the last 48 days),
    placed by the time each frame was observed, else by its upload time."""
    seen = _seen_at()
    first_raw, last_raw, total, observed = session.execute(
        select(func.min(seen), func.max(seen), func.count(), func.count(Image.observed_at)).where(
            Image.project_id == project.id
        )
    ).one()
    first, last = _as_datetime(first_raw), _as_datetime(last_raw)
    if first is None or last is None:
        return KeptOverTime("day", [], [], {})
    unit = "hour" if last - first <= timedelta(days=2) else "day"
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    start = max(first, last - step * (max_buckets - 1))
    bucket = _bucket_expr(session, unit, seen).label("bucket")
    rows = session.execute(
        select(bucket, Image.sampling_rule, Image.source, func.count())
        .where(Image.project_id == project.id, seen >= _floor(start, unit))
        .group_by(bucket, Image.sampling_rule, Image.source)
    ).all()
    labels = _labels(_floor(start, unit), last, step, unit)
    index = {label: i for i, label in enumerate(labels)}
    counts: dict[str, list[int]] = {}
    for label, rule, source, n in rows:
        if label not in index:
            continue
        counts.setdefault(rule or no_rule_label(source), [0] * len(labels))[index[label]] += int(n)
    rules = sorted(counts, key=lambda r: (-sum(counts[r]), r))
    return KeptOverTime(unit, labels, rules, counts, int(observed), int(total) - int(observed))


def _floor(moment: datetime, unit: str) -> datetime:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if unit == "day" else moment


def _labels(start: datetime, last: datetime, step: timedelta, unit: str) -> list[str]:
    fmt = "%Y-%m-%d %H:00" if unit == "hour" else "%Y-%m-%d"
    labels = []
    moment = start
    while moment <= last:
        labels.append(moment.strftime(fmt))
        moment += step
    return labels


def confidence_histogram(
    session: Session, project: Project, *, bins: int = HISTOGRAM_BINS, model_version: str | None = None
) -> list[int]:
    """How many predictions fall in each of ``bins`` equal confidence intervals over [0, 1]."""
    slot = cast(Annotation.confidence * bins, Integer).label("slot")
    query = (
        select(slot, func.count())
        .join(Image, Image.id == Annotation.image_id)
        .where(
            Image.project_id == project.id,
            Annotation.kind == PREDICTION,
            Annotation.confidence.is_not(None),
        )
        .group_by(slot)
    )
    if model_version is not None:
        query = query.where(Annotation.model_version == model_version)
    counts = [0] * bins
    for index, n in session.execute(query).all():
        counts[min(max(int(index), 0), bins - 1)] += int(n)
    return counts


def review_progress(session: Session, project: Project) -> ReviewProgress:
    by_status = dict(
        session.execute(
            select(Image.review_status, func.count())
            .where(Image.project_id == project.id)
            .group_by(Image.review_status)
        ).all()
    )
    boxes = session.scalar(
        select(func.count())
        .select_from(Annotation)
        .join(Image, Image.id == Annotation.image_id)
        .where(Image.project_id == project.id, Annotation.kind == GROUND_TRUTH)
    )
    return ReviewProgress(
        total=int(sum(by_status.values())),
        reviewed=int(by_status.get("reviewed", 0)),
        rejected=int(by_status.get("rejected", 0)),
        ground_truth_boxes=int(boxes or 0),
    )


def model_version_stats(session: Session, project: Project) -> list[ModelVersionStats]:
    """Per model version: frames, frames kept by confidence rules, mean prediction confidence, the
    thresholds in force, frames reviewed and the reviewed frames whose ground truth was corrected."""
    kind = Image.metadata_["rule_kind"].as_string()
    frames = session.execute(
        select(
            Image.model_version,
            func.count(),
            func.sum(cast(kind.in_(sorted(CONFIDENCE_RULE_KINDS)), Integer)),
        )
        .where(Image.project_id == project.id, Image.model_version.is_not(None))
        .group_by(Image.model_version)
    ).all()
    means: dict[str | None, float | None] = dict(
        session.execute(
            select(Annotation.model_version, func.avg(Annotation.confidence))
            .join(Image, Image.id == Annotation.image_id)
            .where(
                Image.project_id == project.id,
                Annotation.kind == PREDICTION,
                Annotation.model_version.is_not(None),
            )
            .group_by(Annotation.model_version)
        ).all()
    )
    thresholds = _thresholds(session, project)
    reviewed, corrected = _corrections(session, project)
    out = [
        ModelVersionStats(
            str(version),
            int(n),
            int(confident or 0),
            _float_or_none(means.get(version)),
            thresholds=thresholds.get(str(version), []),
            reviewed=reviewed.get(str(version), 0),
            corrected=corrected.get(str(version), 0),
        )
        for version, n, confident in frames
    ]
    return sorted(out, key=lambda s: _version_key(s.version))


_NUMBER = r"(\d+(?:\.\d+)?)"
_THRESHOLD_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"below confidence {_NUMBER}"), "< {0}"),  # confidence_below
    (re.compile(rf"below {_NUMBER}, the threshold for model version"), "< {0}"),  # threshold_schedule
    (re.compile(rf"with confidence in \[{_NUMBER}, {_NUMBER}\]"), "in [{0}, {1}]"),  # confidence_between
    (re.compile(rf"within ±{_NUMBER} of {_NUMBER}"), "{1} ± {0}"),  # confidence_near
    (re.compile(rf"class threshold \(e\.g\. (.+?) {_NUMBER} < {_NUMBER}\)"), "{0} < {2}"),  # per class
    (re.compile(rf" in \[{_NUMBER}, {_NUMBER}\]%"), "in [{0}, {1}]%"),  # the guide's conditionals
    (re.compile(rf" ≥ {_NUMBER}$"), "≥ {0}"),  # uncertainty
)


def parse_threshold(reason: str | None) -> str | None:
    """The threshold a sampling reason names (``"1 box(es) below confidence 0.40 (lowest 0.31)"`` →
    ``"< 0.40"``), for the reason texts framescout's rules write; ``None`` when it names none."""
    if not reason:
        return None
    for pattern, shape in _THRESHOLD_PATTERNS:
        found = pattern.search(reason)
        if found:
            return shape.format(*found.groups())
    return None


def _thresholds(session: Session, project: Project) -> dict[str, list[str]]:
    """Per model version, ``rule: threshold`` for every distinct threshold its kept frames name."""
    rows = session.execute(
        select(Image.model_version, Image.sampling_rule, Image.sampling_reason)
        .where(
            Image.project_id == project.id,
            Image.model_version.is_not(None),
            Image.sampling_reason.is_not(None),
        )
        .group_by(Image.model_version, Image.sampling_rule, Image.sampling_reason)
    ).all()
    found: dict[str, dict[str, None]] = defaultdict(dict)
    for version, rule, reason in rows:
        threshold = parse_threshold(reason)
        if threshold is not None:
            found[str(version)][f"{rule or NO_RULE}: {threshold}"] = None
    return {version: sorted(items) for version, items in found.items()}


def _corrections(session: Session, project: Project) -> tuple[dict[str, int], dict[str, int]]:
    """Per model version: reviewed frames, and those whose ground truth differs from the predictions.

    Compared in Python over reviewed frames only (their number is bounded by people's work): each
    ground-truth box must match a distinct prediction of the same class with IoU ≥ `MATCH_IOU`, and
    no prediction may be left over."""
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
    boxes: dict[str, dict[str, list[tuple[str, float, float, float, float]]]] = defaultdict(
        lambda: {GROUND_TRUTH: [], PREDICTION: []}
    )
    for image_id, version, kind, name, x0, y0, x1, y1 in rows:
        version_of[image_id] = str(version)
        entry = boxes[image_id]  # a reviewed frame without any box still gets its (empty) entry
        if kind in (GROUND_TRUTH, PREDICTION):
            entry[kind].append((name, x0, y0, x1, y1))
    reviewed: dict[str, int] = defaultdict(int)
    corrected: dict[str, int] = defaultdict(int)
    for image_id, version in version_of.items():
        reviewed[version] += 1
        if not _same_boxes(boxes[image_id][GROUND_TRUTH], boxes[image_id][PREDICTION]):
            corrected[version] += 1
    return dict(reviewed), dict(corrected)


Box4 = tuple[str, float, float, float, float]


def _iou(a: Box4, b: Box4) -> float:
    w = min(a[3], b[3]) - max(a[1], b[1])
    h = min(a[4], b[4]) - max(a[2], b[2])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[3] - a[1]) * (a[4] - a[2]) + (b[3] - b[1]) * (b[4] - b[2]) - inter
    return inter / union if union > 0 else 0.0


def _same_boxes(truth: list[Box4], predictions: list[Box4]) -> bool:
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


def _float_or_none(value: float | None) -> float | None:
    return None if value is None else float(value)


def _version_key(version: str) -> tuple[int, float, str]:
    """Numeric versions in numeric order ("2" before "10"), then the rest by name."""
    try:
        return (0, float(version), version)
    except ValueError:
        return (1, 0.0, version)


def rule_totals(session: Session, project: Project) -> dict[str, int]:
    """Frames per sampling rule; frames without one per source (``(no rule: roboflow client)``)."""
    rows = session.execute(
        select(Image.sampling_rule, Image.source, func.count())
        .where(Image.project_id == project.id)
        .group_by(Image.sampling_rule, Image.source)
    ).all()
    totals: dict[str, int] = defaultdict(int)
    for rule, source, n in rows:
        totals[rule or no_rule_label(source)] += int(n)
    return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


def report_counts(session: Session, project: Project) -> tuple[int, dict[str, int]]:
    """Open bug reports, and feedback per verdict."""
    open_bugs = session.scalar(
        select(func.count()).where(
            Report.project_id == project.id, Report.kind == "bug", Report.status == "open"
        )
    )
    feedback = dict(
        session.execute(
            select(Report.verdict, func.count())
            .where(Report.project_id == project.id, Report.kind == "feedback")
            .group_by(Report.verdict)
        ).all()
    )
    return int(open_bugs or 0), {str(k): int(v) for k, v in feedback.items()}


def project_stats(session: Session, project: Project) -> ProjectStats:
    """Everything the dashboard shows, in a handful of aggregate queries."""
    open_bugs, feedback = report_counts(session, project)
    return ProjectStats(
        progress=review_progress(session, project),
        kept=kept_over_time(session, project),
        histogram=confidence_histogram(session, project),
        model_versions=model_version_stats(session, project),
        open_bugs=open_bugs,
        feedback=feedback,
        rules=rule_totals(session, project),
    )
