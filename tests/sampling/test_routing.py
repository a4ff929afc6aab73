"""Routing: a rule's ``project`` and ``batch`` keys, and the batch names the frame's time gives."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from framescout.sampling import ConfigError, parse_config
from framescout.sampling.config_types import PROJECT_SLUG, RESERVED_SLUGS, BatchConfig
from framescout.sampling.routing import (
    Route,
    batch_for,
    batch_name,
    destination_projects,
    routes,
    rules_by_destination,
)
from framescout.store import accounts


def config(*rules: dict[str, object]) -> dict[str, object]:
    return {"rules": list(rules)}


def errors_for(data: object) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "test.yaml")
    return str(info.value)


THREE = yaml.safe_load("""
rules:
  - {name: random, type: random, probability: 0.1, project: project-a}
  - {name: low-30, type: confidence, below: 0.3, project: project-b,
     batch: {prefix: night-cams, recreate: daily, max_images: 3}}
  - {name: low-50, type: confidence, below: 0.5, project: project-c}
  - {name: empty, type: nothing_detected, batch: {prefix: empty}}
  - {type: quota, count: 1, every: 1h}
""")


def test_destinations_and_routes_come_from_the_rules() -> None:
    cfg = parse_config(THREE)
    assert destination_projects(cfg) == {"project-a", "project-b", "project-c"}
    assert rules_by_destination(cfg) == {
        "project-a": ["random"],
        "project-b": ["low-30"],
        "project-c": ["low-50"],
    }
    found = routes(cfg)
    assert set(found) == {"random", "low-30", "low-50", "empty"}  # the quota routes nowhere
    assert found["random"] == Route("project-a", None)
    assert found["empty"].project is None and found["empty"].batch == BatchConfig(prefix="empty")
    assert destination_projects(parse_config(config({"type": "random", "probability": 1}))) == set()


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"project": "acme/other"}, "rules[0] (r).project: 'acme/other': give the project's slug"),
        ({"project": "Big Project"}, "rules[0] (r).project: 'Big Project' is not a project slug"),
        ({"project": "api"}, "'api' is not a project slug"),
        ({"project": 7}, "rules[0] (r).project: Input should be a valid string"),
        (
            {"batch": {"prefix": "x", "recreat": "daily"}},
            "rules[0] (r).batch.recreat: unknown key (did you mean 'recreate'?)",
        ),
        (
            {"batch": {"prefix": "x", "recreate": "hourly"}},
            "rules[0] (r).batch.recreate: Input should be 'daily'",
        ),
        ({"batch": {"recreate": "daily"}}, "rules[0] (r).batch.prefix: required key is missing"),
        (
            {"batch": {"prefix": "x", "max_images": 0}},
            "rules[0] (r).batch.max_images: Input should be greater",
        ),
        ({"batch": {"prefix": "bad name"}}, "rules[0] (r).batch.prefix: String should match pattern"),
        (
            {"batch": {"prefix": "x", "timezone": "Mars/Olympus"}},
            "rules[0] (r).batch.timezone: unknown time zone",
        ),
        ({"batch": "night"}, "rules[0] (r).batch: Input should be a valid dictionary"),
    ],
)
def test_bad_routing_keys_are_refused_naming_the_key_path(rule: dict[str, object], expected: str) -> None:
    message = errors_for(config({"name": "r", "type": "random", "probability": 0.5, **rule}))
    assert expected in message, message


def test_the_slug_rule_is_the_stores() -> None:
    assert PROJECT_SLUG.pattern == accounts._SLUG.pattern
    assert RESERVED_SLUGS == accounts.RESERVED_SLUGS


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_names_per_interval() -> None:
    moment = at("2026-12-01T23:30:00+00:00")
    names = {
        recreate: batch_name(BatchConfig(prefix="night-cams", recreate=recreate), moment)
        for recreate in ("daily", "weekly", "monthly", "never")
    }
    assert names == {
        "daily": "night-cams-2026-12-01",
        "weekly": "night-cams-2026-W49",
        "monthly": "night-cams-2026-12",
        "never": "night-cams",
    }
    # The same instant is already 2 December in Paris: the batch's time zone decides the date.
    paris = BatchConfig(prefix="night-cams", recreate="daily", timezone="Europe/Paris")
    assert batch_name(paris, moment) == "night-cams-2026-12-02"
    # ISO weeks carry the ISO year: 2027-01-01 is a Friday of 2026's week 53.
    weekly = BatchConfig(prefix="w", recreate="weekly")
    assert batch_name(weekly, at("2027-01-01T12:00:00+00:00")) == "w-2026-W53"
    assert batch_name(weekly, at("2027-01-04T00:00:00+00:00")) == "w-2027-W01"


def test_max_images_numbers_continuations() -> None:
    batch = BatchConfig(prefix="night-cams", recreate="daily", max_images=2)
    moment = at("2026-12-01T08:00:00+00:00")
    assert [batch_for(batch, moment, n) for n in range(7)] == [
        "night-cams-2026-12-01",
        "night-cams-2026-12-01",
        "night-cams-2026-12-01-2",
        "night-cams-2026-12-01-2",
        "night-cams-2026-12-01-3",
        "night-cams-2026-12-01-3",
        "night-cams-2026-12-01-4",
    ]
    unlimited = BatchConfig(prefix="all")
    assert batch_for(unlimited, moment, 10**6) == "all"


def period_start(moment: datetime, recreate: str) -> datetime:
    """The start of ``moment``'s period, by calendar arithmetic (not by the names under test)."""
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if recreate == "daily":
        return day
    if recreate == "weekly":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_start(start: datetime, recreate: str) -> datetime:
    if recreate == "daily":
        return start + timedelta(days=1)
    if recreate == "weekly":
        return start + timedelta(days=7)
    return start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)


ZONES = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney"])
INSTANTS = st.integers(
    min_value=int(at("2000-01-01T00:00:00+00:00")), max_value=int(at("2060-01-01T00:00:00+00:00"))
)


@given(INSTANTS, st.sampled_from(["daily", "weekly", "monthly"]), ZONES)
def test_names_change_exactly_at_the_interval_boundaries(seconds: int, recreate: str, zone: str) -> None:
    batch = BatchConfig(prefix="p", recreate=recreate, timezone=zone)  # type: ignore[arg-type]
    local = datetime.fromtimestamp(seconds, ZoneInfo(zone))
    start = period_start(local.replace(tzinfo=None), recreate).replace(tzinfo=ZoneInfo(zone))
    end = next_start(start.replace(tzinfo=None), recreate).replace(tzinfo=ZoneInfo(zone))
    first, last = start.timestamp(), end.timestamp() - 0.001
    name = batch_name(batch, seconds)
    assert batch_name(batch, first) == name == batch_name(batch, last)  # one name for the whole period
    assert batch_name(batch, first - 0.001) != name  # and another on either side of it
    assert batch_name(batch, end.timestamp()) != name


@given(INSTANTS, INSTANTS, st.sampled_from(["daily", "weekly", "monthly", "never"]))
def test_two_times_share_a_name_exactly_when_they_share_a_period(a: int, b: int, recreate: str) -> None:
    batch = BatchConfig(prefix="p", recreate=recreate)  # type: ignore[arg-type]
    ta, tb = (datetime.fromtimestamp(t, UTC).replace(tzinfo=None) for t in (a, b))
    same = recreate == "never" or period_start(ta, recreate) == period_start(tb, recreate)
    assert (batch_name(batch, a) == batch_name(batch, b)) is same


def test_weekly_names_are_iso_weeks_on_mondays() -> None:
    batch = BatchConfig(prefix="w", recreate="weekly")
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    assert monday.date().weekday() == 0 and date(2026, 11, 30).isocalendar().week == 49
    assert batch_name(batch, monday.timestamp()) == "w-2026-W49"
    assert batch_name(batch, monday.timestamp() - 1) == "w-2026-W48"
