"""The value types a sampling configuration is written in: durations, fractions, counts, rate limits.

Each accepts the friendly text form users write (``"15m"``, ``"0.5%"``, ``"10/minute; 200/hour"``) as
well as plain numbers and mappings, so the rule schemas in `rule_configs` stay declarative.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from framescout.sampling.limiter import parse_limits
from framescout.sampling.storage_uri import check_storage_uri

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|hr|d|day)?s?\s*$")
_UNITS = {
    None: 1.0,
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}


def _duration(value: Any) -> Any:
    """``"15m"``, ``"1h"``, ``"30s"``, ``"1d"`` or a number of seconds, to seconds."""
    if isinstance(value, str):
        match = _DURATION.match(value.lower())
        if not match:
            raise ValueError(f"cannot read {value!r} as a duration; write e.g. '30s', '15m', '1h', '1d'")
        return float(match.group(1)) * _UNITS[match.group(2)]
    return value


def _fraction(value: Any) -> Any:
    """``"0.5%"`` or ``0.005`` to a fraction."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100.0
        except ValueError:
            raise ValueError(f"cannot read {value!r} as a percentage") from None
    return value


Duration = Annotated[float, BeforeValidator(_duration), Field(gt=0)]
Fraction = Annotated[float, BeforeValidator(_fraction), Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]


class StrictModel(BaseModel):
    """A configuration section: unknown keys are errors, and a validated section never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LimitsConfig(StrictModel):
    """Caps on kept frames; any mix of periods."""

    per_second: Annotated[int, Field(gt=0)] | None = None
    per_minute: Annotated[int, Field(gt=0)] | None = None
    per_hour: Annotated[int, Field(gt=0)] | None = None
    per_day: Annotated[int, Field(gt=0)] | None = None

    def spec(self) -> dict[str, int]:
        """The caps that are set, as the `Limiter` takes them (``{"per_hour": 200}``)."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


def _limits_field(value: Any) -> Any:
    """Accept the `limits` library's text form (``"10/minute; 200/hour"``) as well as a mapping."""
    if not isinstance(value, str):
        return value
    out: dict[str, int] = {}
    for item in parse_limits(value):
        period = item.GRANULARITY.name
        if item.multiples != 1 or period not in ("second", "minute", "hour", "day"):
            raise ValueError(
                f"{value!r}: use whole periods (second, minute, hour, day), e.g. '10/minute; 200/hour'"
            )
        out[f"per_{period}"] = item.amount
    return out


Limits = Annotated[LimitsConfig, BeforeValidator(_limits_field)]


StorageUri = Annotated[str, BeforeValidator(check_storage_uri)]
"""``memory://`` or ``redis://host:port[/db]`` (``rediss://``): where limits are counted."""


PROJECT_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""A project's slug as the store makes them (`framescout.store.accounts`; a test keeps the two equal)."""
RESERVED_SLUGS = frozenset({"api", "dataset", "docs", "redoc", "openapi.json", "healthz", "static", "ui"})


def _project_slug(value: Any) -> Any:
    """A rule's destination ``project``: the slug of a project in the collector's own workspace."""
    if not isinstance(value, str):
        return value
    if "/" in value:
        raise ValueError(
            f"{value!r}: give the project's slug only (e.g. 'night-review'); a rule routes to a project "
            "of the collector's own workspace"
        )
    if not PROJECT_SLUG.match(value) or value in RESERVED_SLUGS:
        raise ValueError(
            f"{value!r} is not a project slug: 1-64 lowercase letters, digits, '-' or '_', starting with a "
            "letter or digit"
        )
    return value


ProjectSlug = Annotated[str, BeforeValidator(_project_slug)]


def _timezone(value: Any) -> Any:
    """An IANA time zone name (``Europe/Paris``), checked against this machine's zone database."""
    if isinstance(value, str):
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'Europe/Paris' or 'UTC'"
            ) from None
    return value


class BatchConfig(StrictModel):
    """A rule's labelling batch: ``prefix`` plus the period it is recreated in (named after the frame's
    own time, `framescout.sampling.routing.batch_name`), and at most ``max_images`` per batch before a
    numbered continuation (``night-cams-2026-12-01-2``)."""

    prefix: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    recreate: Literal["daily", "weekly", "monthly", "never"] = "never"
    max_images: Annotated[int, Field(ge=1)] | None = None
    timezone: Annotated[str, BeforeValidator(_timezone)] = "UTC"
