"""Dashboard figures for one project, computed by the database (GROUP BY), not by loading rows.

Kept frames over time per sampling rule, a confidence histogram of predictions, review progress,
reports, and per model version the share of frames kept by confidence rules — the guide's "over
time you will see fewer false detections" made visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from framescout.store.models import GROUND_TRUTH, PREDICTION, Annotation, Image, Project, Report

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


@dataclass
class KeptOverTime:
    """Counts of kept frames per time bucket and sampling rule."""

    unit: str  # "hour" or "day"
    buckets: list[str]
    rules: list[str]
    counts: dict[str, list[int]]  # rule -> count per bucket


@dataclass
class ModelVersionStats:
    version: str
    frames: int
    by_confidence_rules: int
    mean_confidence: float | None

    @property
    def confidence_share(self) -> float:
        return self.by_confidence_rules / self.frames if self.frames else 0.0


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


def _bucket_expr(session: Session, unit: str) -> ColumnElement[str]:
    """``created_at`` truncated to the hour or day, as text, in the database's own dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(Image.created_at, "YYYY-MM-DD HH24:00" if unit == "hour" else "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d %H:00" if unit == "hour" else "%Y-%m-%d", Image.created_at)


def kept_over_time(session: Session, project: Project, *, max_buckets: int = 48) -> KeptOverTime:
    """Frames per rule per hour (when the project spans up to two days) or per day (the last 60 days)."""
    span = session.execute(
        select(func.min(Image.created_at), func.max(Image.created_at)).where(Image.project_id == project.id)
    ).one()
    first, last = span
    if first is None or last is None:
        return KeptOverTime("day", [], [], {})
    unit = "hour" if last - first <= timedelta(days=2) else "day"
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    start = max(first, last - step * (max_buckets - 1))
    bucket = _bucket_expr(session, unit).label("bucket")
    rows = session.execute(
        select(bucket, Image.sampling_rule, func.count())
        .where(Image.project_id == project.id, Image.created_at >= _floor(start, unit))
        .group_by(bucket, Image.sampling_rule)
    ).all()
    labels = _labels(_floor(start, unit), last, step, unit)
    index = {label: i for i, label in enumerate(labels)}
    counts: dict[str, list[int]] = {}
    for label, rule, n in rows:
        if label not in index:
            continue
        counts.setdefault(rule or NO_RULE, [0] * len(labels))[index[label]] += int(n)
    rules = sorted(counts, key=lambda r: (-sum(counts[r]), r))
    return KeptOverTime(unit, labels, rules, counts)


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
    """Per model version: frames, frames kept by confidence rules, mean prediction confidence."""
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
    out = [
        ModelVersionStats(
            str(version),
            int(n),
            int(confident or 0),
            _float_or_none(means.get(version)),
        )
        for version, n, confident in frames
    ]
    return sorted(out, key=lambda s: _version_key(s.version))


def _float_or_none(value: float | None) -> float | None:
    return None if value is None else float(value)


def _version_key(version: str) -> tuple[int, float, str]:
    """Numeric versions in numeric order ("2" before "10"), then the rest by name."""
    try:
        return (0, float(version), version)
    except ValueError:
        return (1, 0.0, version)


def rule_totals(session: Session, project: Project) -> dict[str, int]:
    rows = session.execute(
        select(Image.sampling_rule, func.count())
        .where(Image.project_id == project.id)
        .group_by(Image.sampling_rule)
    ).all()
    return {(rule or NO_RULE): int(n) for rule, n in sorted(rows, key=lambda r: -int(r[1]))}


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
