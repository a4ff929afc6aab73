"""Rule yield: per sampling rule and model version, how much reviewers corrected the frames it kept.

The evidence for editing the rules: a rule whose frames reviewers keep correcting finds the model's
mistakes; one whose frames pass review unchanged pays for labelling that teaches the model little.
A frame counts for each model version it carries (the version that ran when it was kept, and every
version that predicted it: its boxes, or a `PredictionRun` that found nothing); the changes are those
of `framescout.store.corrections`. Kept
frames are counted by the database; the changes are paired per batch of reviewed frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select, true, union
from sqlalchemy.orm import Session

from framescout.store.corrections import Changes, reviewed_changes, seen_at
from framescout.store.models import PREDICTION, Annotation, Image, PredictionRun, Project
from framescout.store.rule_stats import no_rule_label


@dataclass
class RuleYield:
    """One sampling rule under one model version: frames kept, reviewed, and what review changed."""

    rule: str
    model_version: str | None
    kept: int = 0
    changes: Changes | None = None

    @property
    def reviewed(self) -> int:
        return self.changes.reviewed if self.changes else 0

    @property
    def corrections_per_reviewed_frame(self) -> float | None:
        """Box changes per reviewed frame (``None`` before any review): the ranking."""
        if not self.changes or not self.changes.reviewed:
            return None
        return self.changes.corrections / self.changes.reviewed


def rules_yield(
    session: Session, project: Project, *, model_version: str | None = None, since: datetime | None = None
) -> list[RuleYield]:
    """Every (rule, model version) of ``project``'s frames (of ``model_version`` only; seen since
    ``since``), the highest corrections per reviewed frame first, rules without reviews last."""
    rows: dict[tuple[str, str | None], RuleYield] = {}
    for rule, source, version, kept in _kept(session, project, model_version, since):
        key = (rule or no_rule_label(source), version)
        rows.setdefault(key, RuleYield(*key)).kept += kept
    for unit, counts in reviewed_changes(session, project, model_version=model_version, since=since):
        key = (unit.sampling_rule or no_rule_label(unit.source), unit.model_version)
        row = rows.setdefault(key, RuleYield(*key))
        if row.changes is None:
            row.changes = Changes()
        row.changes.add(counts)
    return sorted(rows.values(), key=_rank)


def _rank(row: RuleYield) -> tuple[bool, float, int, str, str]:
    per_frame = row.corrections_per_reviewed_frame
    return (per_frame is None, -(per_frame or 0.0), -row.reviewed, row.rule, row.model_version or "")


def version_corrections(rows: list[RuleYield]) -> tuple[dict[str, int], dict[str, int]]:
    """Per model version, reviewed frames and the corrected ones, summed over the rules: what
    `framescout.store.corrections.corrections` counts, without pairing the frames again."""
    reviewed: dict[str, int] = {}
    corrected: dict[str, int] = {}
    for row in rows:
        if row.model_version is not None and row.changes is not None:
            reviewed[row.model_version] = reviewed.get(row.model_version, 0) + row.changes.reviewed
            corrected[row.model_version] = corrected.get(row.model_version, 0) + row.changes.corrected
    return reviewed, corrected


def rule_ranking(session: Session, project: Project) -> dict[str | None, float]:
    """Corrections per reviewed frame of each rule over every model version together (rules without
    a reviewed frame are absent): what the review queue's ``yield`` order ranks by. Keyed by the
    stored ``sampling_rule`` (``None``: frames no rule kept)."""
    totals: dict[str | None, list[int]] = {}
    for unit, counts in reviewed_changes(session, project):
        total = totals.setdefault(unit.sampling_rule, [0, 0])
        total[0] += int(counts.sum())
        total[1] += 1
    return {rule: fixes / frames for rule, (fixes, frames) in totals.items()}


def _kept(
    session: Session, project: Project, model_version: str | None, since: datetime | None
) -> list[tuple[str | None, str | None, str | None, int]]:
    """``(rule, source, model version, frames)``: each frame once per version it carries, or once
    under ``None`` when it carries none."""
    mine = [Image.project_id == project.id] + ([] if since is None else [seen_at() >= since])
    version = func.coalesce(Annotation.model_version, Image.model_version)
    predicted = Annotation.kind == PREDICTION
    own_version = (
        Image.model_version.is_not(None) if model_version is None else Image.model_version == model_version
    )
    predicted_version = version.is_not(None) if model_version is None else version == model_version
    own = select(Image.id.label("image_id"), Image.model_version.label("version")).where(*mine, own_version)
    by_predictions = (
        select(Annotation.image_id, version)
        .join(Image, Image.id == Annotation.image_id)
        .where(*mine, predicted, predicted_version)
    )
    run_version = true() if model_version is None else PredictionRun.model_version == model_version
    by_runs = (
        select(PredictionRun.image_id, PredictionRun.model_version)
        .join(Image, Image.id == PredictionRun.image_id)
        .where(*mine, run_version)
    )
    pairs = [own, by_predictions, by_runs]
    if model_version is None:
        versioned = exists().where(Annotation.image_id == Image.id, predicted, version.is_not(None))
        ran = exists().where(PredictionRun.image_id == Image.id)
        none = select(Image.id, Image.model_version).where(
            *mine, Image.model_version.is_(None), ~versioned, ~ran
        )
        pairs.append(none)
    carried = union(*pairs).subquery()
    query = (
        select(Image.sampling_rule, Image.source, carried.c.version, func.count())
        .join(carried, carried.c.image_id == Image.id)
        .group_by(Image.sampling_rule, Image.source, carried.c.version)
    )
    return [(rule, source, ver, int(n)) for rule, source, ver, n in session.execute(query).all()]
