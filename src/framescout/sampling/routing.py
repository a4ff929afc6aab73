"""Where a kept frame goes: its rule's destination project and labelling batch (pure functions).

A rule may say ``project: night-review`` (a project of the collector's own workspace) and
``batch: {prefix: night-cams, recreate: daily, max_images: 500}``. Only the rule that keeps a frame
routes it (the `Sampler` keeps each frame by exactly one rule: the first that matches with credit), so
a frame is uploaded once, to one project and one batch. Without ``project`` a frame goes to the
collector's project; without ``batch`` to the collector's ``--batch`` (if any).

Batch names follow the frame's own time (its ``observed_at``: the collector's clock, or a recorded
video's time) in the batch's ``timezone`` (UTC unless given):

- ``daily``: ``night-cams-2026-12-01``
- ``weekly``: ``night-cams-2026-W49`` (the ISO 8601 week, Monday to Sunday, with the ISO year: the
  days of 2026-12-28 to 2027-01-03 are ``2026-W53``)
- ``monthly``: ``night-cams-2026-12``
- ``never``: ``night-cams``

With ``max_images``, the first N frames of a period go to the dated name, the next N to ``…-2``, then
``…-3`` (``night-cams-2026-12-01-2``): `batch_for` numbers them from how many the period already had.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from framescout.sampling.config import SamplingConfig
from framescout.sampling.config_types import BatchConfig


@dataclass(frozen=True)
class Route:
    """One rule's destination: ``project`` (a slug of the same workspace) and ``batch``; ``None`` is the
    collector's own."""

    project: str | None = None
    batch: BatchConfig | None = None


def routes(config: SamplingConfig) -> dict[str, Route]:
    """Each rule's `Route` by the rule's name (its ``name``, else its ``type``, as the `Sampler` names
    it), for the rules that route anywhere."""
    return {
        rule.name or rule.type: Route(rule.project, rule.batch)
        for rule in config.rules
        if rule.project is not None or rule.batch is not None
    }


def destination_projects(config: SamplingConfig) -> set[str]:
    """The project slugs the rules send frames to (besides the collector's own project): each must be a
    project of the workspace the rules are used in (the server's rules PUT and ``collect`` check)."""
    return {rule.project for rule in config.rules if rule.project is not None}


def rules_by_destination(config: SamplingConfig) -> dict[str, list[str]]:
    """Each destination project with the names of the rules that send to it, for error messages."""
    out: dict[str, list[str]] = {}
    for rule in config.rules:
        if rule.project is not None:
            out.setdefault(rule.project, []).append(rule.name or rule.type)
    return out


def period(batch: BatchConfig, at: float) -> str | None:
    """The dated part of the batch name at Unix time ``at`` (``2026-12-01``, ``2026-W49``,
    ``2026-12``), ``None`` for ``recreate: never``."""
    if batch.recreate == "never":
        return None
    moment = datetime.fromtimestamp(at, ZoneInfo(batch.timezone))
    if batch.recreate == "daily":
        return moment.strftime("%Y-%m-%d")
    if batch.recreate == "weekly":
        year, week, _ = moment.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return moment.strftime("%Y-%m")


def batch_name(batch: BatchConfig, at: float) -> str:
    """The batch a frame observed at ``at`` starts in: the prefix and the period (no continuation)."""
    dated = period(batch, at)
    return batch.prefix if dated is None else f"{batch.prefix}-{dated}"


def continuation(base: str, earlier: int, max_images: int | None) -> str:
    """The name for the frame after ``earlier`` frames of the same ``base`` name: ``base`` while the
    first batch has room, then ``base-2``, ``base-3``, … each holding ``max_images``."""
    part = 0 if max_images is None else earlier // max_images
    return base if part == 0 else f"{base}-{part + 1}"


def batch_for(batch: BatchConfig, at: float, earlier: int) -> str:
    """`batch_name` then `continuation`: the batch of a frame observed at ``at`` when ``earlier``
    frames were already given this period's name."""
    return continuation(batch_name(batch, at), earlier, batch.max_images)


def describe(route: Route) -> str:
    """One line for ``rules check``: ``→ project night-review, batch night-cams-YYYY-MM-DD (daily, at
    most 500 per batch, UTC)``."""
    parts = [f"project {route.project}"] if route.project else []
    if route.batch is not None:
        b = route.batch
        shape = {"daily": "-YYYY-MM-DD", "weekly": "-YYYY-Www", "monthly": "-YYYY-MM", "never": ""}
        detail: list[str] = [b.recreate]
        if b.max_images is not None:
            detail.append(f"at most {b.max_images} per batch, then -2, -3, ...")
        if b.recreate != "never":
            detail.append(b.timezone)
        parts.append(f"batch {b.prefix}{shape[b.recreate]} ({', '.join(detail)})")
    return "-> " + ", ".join(parts)
