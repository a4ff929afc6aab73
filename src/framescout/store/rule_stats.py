"""Kept frames per sampling rule, in total and over time (the dashboard's "kept frames" chart), or
over time per device (the same chart split by device).

Frames are placed by the time each was observed (``observed_at``), else by its upload time; frames
no rule kept are counted per source (``(no rule: roboflow client)``); frames no device sent are
``(no device)``, and past the busiest `TOP_DEVICES` devices the rest add up to ``(other devices)``, so a
fleet of hundreds still draws a readable chart. Counted by the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from framescout.store.models import Image, Project
from framescout.store.provenance import source_label

NO_RULE = "(no rule)"
NO_DEVICE = "(no device)"
OTHER_DEVICES = "(other devices)"
TOP_DEVICES = 8
SPLITS = ("rule", "device")
"""What the kept-frames chart can be split by: one series per sampling rule, or per device."""


def no_rule_label(source: str | None) -> str:
    """What a frame without a sampling rule is listed as: its source (``(no rule: roboflow client)``)."""
    return f"{NO_RULE[:-1]}: {source_label(source)})" if source else NO_RULE


@dataclass
class KeptOverTime:
    """Counts of kept frames per time bucket and series (a sampling rule, or a device when ``by`` is
    ``"device"``).

    Frames are placed by ``observed_at`` (when the device saw them) and, for the ``by_upload`` frames
    that carry no observed time, by upload time."""

    unit: str  # "hour" or "day"
    buckets: list[str]
    rules: list[str]  # the series, busiest first (rules, or devices then OTHER_DEVICES)
    counts: dict[str, list[int]]  # series -> count per bucket
    observed: int = 0
    by_upload: int = 0
    by: str = "rule"

    @property
    def basis(self) -> str:
        """Which time the chart plots, in words."""
        if not self.by_upload:
            return "by observed time"
        if not self.observed:
            return "by upload time (no frame carries an observed time)"
        frames = "frame" if self.by_upload == 1 else "frames"
        return f"by observed time; {self.by_upload} {frames} without one by upload time"


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


def kept_over_time(
    session: Session, project: Project, *, max_buckets: int = 48, by: str = "rule", top: int = TOP_DEVICES
) -> KeptOverTime:
    """Frames per rule (or per device: ``by="device"``, the ``top`` busiest and the rest together) per
    hour (when the frames span up to two days) or per day (the last 48 days), placed by the time each
    frame was observed, else by its upload time."""
    if by not in SPLITS:
        raise ValueError(f"kept frames split by one of {', '.join(SPLITS)}; got {by!r}")
    seen = _seen_at()
    first_raw, last_raw, total, observed = session.execute(
        select(func.min(seen), func.max(seen), func.count(), func.count(Image.observed_at)).where(
            Image.project_id == project.id
        )
    ).one()
    first, last = _as_datetime(first_raw), _as_datetime(last_raw)
    if first is None or last is None:
        return KeptOverTime("day", [], [], {}, by=by)
    unit = "hour" if last - first <= timedelta(days=2) else "day"
    step = timedelta(hours=1) if unit == "hour" else timedelta(days=1)
    start = max(first, last - step * (max_buckets - 1))
    bucket = _bucket_expr(session, unit, seen).label("bucket")
    keys = (Image.sampling_rule, Image.source) if by == "rule" else (Image.device_id,)
    rows = session.execute(
        select(bucket, func.count(), *keys)
        .where(Image.project_id == project.id, seen >= _floor(start, unit))
        .group_by(bucket, *keys)
    ).all()
    labels = _labels(_floor(start, unit), last, step, unit)
    index = {label: i for i, label in enumerate(labels)}
    counts: dict[str, list[int]] = {}
    for label, n, *key in rows:
        if label not in index:
            continue
        counts.setdefault(_series_name(by, key), [0] * len(labels))[index[label]] += int(n)
    series = sorted(counts, key=lambda r: (-sum(counts[r]), r))
    if by == "device" and len(series) > top:
        series, counts = _fold_the_rest(series, counts, top)
    return KeptOverTime(unit, labels, series, counts, int(observed), int(total) - int(observed), by)


def _series_name(by: str, key: list[str | None]) -> str:
    """A row's series: its rule (else ``(no rule: <source>)``), or its device (else ``(no device)``)."""
    if by == "rule":
        rule, source = key
        return rule or no_rule_label(source)
    return key[0] or NO_DEVICE


def _fold_the_rest(
    series: list[str], counts: dict[str, list[int]], top: int
) -> tuple[list[str], dict[str, list[int]]]:
    """The ``top`` busiest series as they are, then every other one summed as `OTHER_DEVICES`."""
    kept, rest = series[:top], series[top:]
    other = [sum(column) for column in zip(*(counts[name] for name in rest), strict=True)]
    return [*kept, OTHER_DEVICES], {**{name: counts[name] for name in kept}, OTHER_DEVICES: other}


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


def _floor(moment: datetime, unit: str) -> datetime:
    """``moment`` truncated to the start of its hour or day."""
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if unit == "day" else moment


def _labels(start: datetime, last: datetime, step: timedelta, unit: str) -> list[str]:
    """Every bucket's label from ``start`` to ``last``, in the format `_bucket_expr` writes."""
    fmt = "%Y-%m-%d %H:00" if unit == "hour" else "%Y-%m-%d"
    labels = []
    moment = start
    while moment <= last:
        labels.append(moment.strftime(fmt))
        moment += step
    return labels
