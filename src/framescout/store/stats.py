"""Dashboard figures for one project, computed by the database (GROUP BY), not by loading rows.

`project_stats` gathers them all: review progress and the confidence histogram (here), kept frames
per rule over time (`rule_stats`), per model version the thresholds that kept its frames and how many
reviewers corrected (`version_stats`), and report counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from framescout.store.models import GROUND_TRUTH, PREDICTION, Annotation, Image, Project, Report
from framescout.store.rule_stats import KeptOverTime, kept_over_time, rule_totals
from framescout.store.rule_yield import RuleYield, rules_yield, version_corrections
from framescout.store.version_stats import ModelVersionStats, model_version_stats

HISTOGRAM_BINS = 20


class floor_int(FunctionElement[int]):
    """The integer part of a non-negative number. Not ``CAST(x AS INTEGER)``: SQLite truncates, but
    PostgreSQL rounds (0.98 becomes 1), which moved predictions into the next histogram bin."""

    type = Integer()
    inherit_cache = True
    name = "floor_int"


@compiles(floor_int)
def _floor_int(element: floor_int, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR({compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(floor_int, "sqlite")
def _floor_int_sqlite(element: floor_int, compiler: Any, **kw: Any) -> str:
    # truncation is the floor of a non-negative number; FLOOR needs SQLite's optional math functions
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


@dataclass
class ReviewProgress:
    """How far review has come: frames in each state and the ground-truth boxes drawn."""

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
    """Everything the dashboard shows for one project."""

    progress: ReviewProgress
    kept: KeptOverTime
    histogram: list[int]
    model_versions: list[ModelVersionStats]
    open_bugs: int
    feedback: dict[str, int] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)
    rule_yield: list[RuleYield] = field(default_factory=list)
    """Per rule and model version, what review changed (`rule_yield.rules_yield`)."""


def project_stats(session: Session, project: Project, *, kept_by: str = "rule") -> ProjectStats:
    """Everything the dashboard shows, in a handful of aggregate queries; the kept frames over time
    split by ``kept_by`` (``rule`` or ``device``, `rule_stats.SPLITS`)."""
    open_bugs, feedback = report_counts(session, project)
    yields = rules_yield(session, project)  # reviewed frames are paired once, for both panels
    return ProjectStats(
        progress=review_progress(session, project),
        kept=kept_over_time(session, project, by=kept_by),
        histogram=confidence_histogram(session, project),
        model_versions=model_version_stats(session, project, corrections=version_corrections(yields)),
        open_bugs=open_bugs,
        feedback=feedback,
        rules=rule_totals(session, project),
        rule_yield=yields,
    )


def confidence_histogram(
    session: Session, project: Project, *, bins: int = HISTOGRAM_BINS, model_version: str | None = None
) -> list[int]:
    """How many predictions fall in each of ``bins`` equal confidence intervals over [0, 1]."""
    slot = floor_int(Annotation.confidence * bins).label("slot")
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
    """Frames per review status and the project's ground-truth boxes."""
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
