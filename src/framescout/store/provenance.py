"""Where an image came from and when it was seen: the upload's source and the frame's observed time
(and the marks of predictions the server made, `LABEL_ASSIST` and `MODELS_PREDICT`).

Both are read from an upload once, at ingest, into indexed columns (``images.source``,
``images.observed_at``), so dashboards group by them in plain SQL on SQLite and PostgreSQL alike
instead of extracting JSON in each dialect's own way."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

SOURCES = ("collector", "api", "roboflow", "feedback", "bug-report")
"""``collector`` (framescout's edge collector), ``api`` (the native upload API, SDK or curl),
``roboflow`` (the Roboflow-compatible upload route, i.e. the official ``roboflow`` package),
``feedback`` and ``bug-report`` (images that came with an end user's report)."""

SOURCE_LABELS = {
    "collector": "collector",
    "api": "API",
    "roboflow": "roboflow client",
    "feedback": "user feedback",
    "bug-report": "bug report",
}

LABEL_ASSIST = "label-assist"
"""``annotations.created_by`` of predictions the server made itself for an image that arrived without
any (label assist, `framescout.store.label_assist`)."""
MODELS_PREDICT = "framescout models predict"
"""``annotations.created_by`` of predictions ``framescout models predict`` made over stored frames
(`framescout.store.prediction_versions`)."""

EARLIEST = datetime(2000, 1, 1)
"""An ``observed_at`` before this is not a wall-clock time (e.g. seconds into a video): ignored."""
FUTURE_SLACK = timedelta(days=1)
MILLISECONDS_ABOVE = 1e11
"""Epoch values above this (the year 5138 in seconds) are taken as milliseconds."""


def source_label(source: str | None) -> str:
    """A reviewer-facing name for a stored source (``None``: uploaded before sources were recorded)."""
    return SOURCE_LABELS.get(source or "", source or "unknown source")


def upload_source(explicit: str | None, metadata: Mapping[str, Any]) -> str:
    """The source of an upload: the route's own word when it has one, else what the metadata shows
    (the collector always sends ``rule_kind``; report routes set ``source``), else ``api``."""
    if explicit:
        return explicit
    said = metadata.get("source")
    if said in ("feedback", "bug-report"):
        return str(said)
    if "rule_kind" in metadata:
        return "collector"
    return "api"


def observed_time(metadata: Mapping[str, Any], *, now: datetime | None = None) -> datetime | None:
    """``metadata["observed_at"]`` as a naive UTC datetime, or ``None`` when absent or implausible.

    The collector sends epoch seconds (a float); ISO 8601 text (with or without an offset; naive
    means UTC) and epoch milliseconds are accepted too. Times before 2000 or more than a day ahead
    of ``now`` are ignored, so such a frame falls back to its upload time on the dashboard."""
    value = metadata.get("observed_at")
    moment: datetime | None = None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                return None
            moment = parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    if moment is None:
        if not isinstance(value, int | float) or not math.isfinite(value):
            return None
        seconds = float(value) / 1000 if abs(value) > MILLISECONDS_ABOVE else float(value)
        try:
            moment = datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    latest = (now or datetime.now(UTC).replace(tzinfo=None)) + FUTURE_SLACK
    if not EARLIEST <= moment <= latest:
        return None
    return moment
