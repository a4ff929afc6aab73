"""Per model version: its frames, the thresholds that kept them, and what reviewers made of them.

The guide's "over time you will see fewer false detections" made visible: the share of frames kept
by confidence rules, the mean prediction confidence, and how many reviewed frames were corrected.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from framescout.store.corrections import corrections as count_corrections
from framescout.store.models import PREDICTION, Annotation, Image, Project
from framescout.store.rule_stats import NO_RULE
from framescout.store.thresholds import parse_source, parse_threshold

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


@dataclass
class ModelVersionStats:
    """One model version's frames: the thresholds that kept them, and what reviewers made of them."""

    version: str
    frames: int
    by_confidence_rules: int
    mean_confidence: float | None
    thresholds: list[str] = field(default_factory=list)
    """``rule: threshold`` as parsed from the sampling reasons, e.g. ``low-conf: < 0.40``; a ``from:
    evaluation`` schedule's with the source of its latest frame, e.g. ``evidence: < 0.55 (evaluation of
    v2 on 312 reviewed frames)``."""
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


def model_version_stats(
    session: Session, project: Project, *, corrections: tuple[dict[str, int], dict[str, int]] | None = None
) -> list[ModelVersionStats]:
    """Per model version: frames, frames kept by confidence rules, mean prediction confidence, the
    thresholds in force, frames reviewed and the reviewed frames whose ground truth was corrected
    (``corrections``: those two already counted, as `framescout.store.corrections.corrections` counts)."""
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
    reviewed, corrected = corrections or count_corrections(session, project)
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


def _thresholds(session: Session, project: Project) -> dict[str, list[str]]:
    """Per model version, ``rule: threshold`` for every distinct threshold its kept frames name (and,
    for a threshold measured by evaluation, where the latest frame kept by it says it came from)."""
    rows = session.execute(
        select(Image.model_version, Image.sampling_rule, Image.sampling_reason, func.max(Image.created_at))
        .where(
            Image.project_id == project.id,
            Image.model_version.is_not(None),
            Image.sampling_reason.is_not(None),
        )
        .group_by(Image.model_version, Image.sampling_rule, Image.sampling_reason)
    ).all()
    found: dict[str, dict[str, tuple[datetime, str | None]]] = defaultdict(dict)
    for version, rule, reason, latest in rows:
        threshold = parse_threshold(reason)
        if threshold is None:
            continue
        key = f"{rule or NO_RULE}: {threshold}"
        seen = found[str(version)].get(key)
        if seen is None or latest > seen[0]:
            found[str(version)][key] = (latest, parse_source(reason))
    return {
        version: sorted(f"{key} ({source})" if source else key for key, (_, source) in items.items())
        for version, items in found.items()
    }


def _float_or_none(value: float | None) -> float | None:
    return None if value is None else float(value)


def _version_key(version: str) -> tuple[int, float, str]:
    """Numeric versions in numeric order ("2" before "10"), then the rest by name."""
    try:
        return (0, float(version), version)
    except ValueError:
        return (1, 0.0, version)
