"""Pydantic models of the devices routes: the heartbeat a collector sends and the devices it lists.

Every count is a non-negative 64-bit integer, every text and mapping capped, so a heartbeat is a few
kilobytes at most. Unknown keys are ignored, not refused: a fleet upgrades its devices and its
server at different times, and a newer collector must still be heard by an older server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, StringConstraints

from framescout.labels import MAX_KEY, MAX_LABELS, MAX_VALUE
from framescout.store.devices import DeviceView, Heartbeat, HistoryPoint
from framescout.store.validation import MAX_SQL_INT

MAX_RULES = 100
MAX_DROP_REASONS = 50
Count = Annotated[int, Field(ge=0, le=MAX_SQL_INT)]
_PLAIN = r"^[^\x00-\x1f\x7f]*$"
"""No control characters."""
RuleName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_PLAIN)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=_PLAIN)]
Version = Annotated[str, StringConstraints(max_length=200, pattern=_PLAIN)]
LabelKey = Annotated[str, StringConstraints(max_length=2 * MAX_KEY)]
LabelText = Annotated[str, StringConstraints(max_length=2 * MAX_VALUE)]
"""Bounds on the body only: the route checks labels by `framescout.labels.check_labels`, so that
a label past its rules answers ``invalid_label`` / ``too_many_labels`` as on every route."""


class Tallies(BaseModel):
    """What happened to kept frames in this run (in total, and per rule)."""

    kept: Count = Field(default=0, description="Frames a rule kept.")
    uploaded: Count = Field(default=0, description="Kept frames the server stored as new.")
    duplicates: Count = Field(default=0, description="Kept frames the server already had.")
    spooled: Count = Field(default=0, description="Kept frames written to the spool.")
    dropped: Count = Field(default=0, description="Kept frames given up on the device.")
    quarantined: Count = Field(default=0, description="Kept frames the server refused (held on the device).")


class RuleCountsIn(Tallies):
    """One rule's counts in this run, with its upload retries and why frames were dropped."""

    retried: Count = 0
    dropped_reasons: dict[Reason, Count] = Field(default_factory=dict, max_length=MAX_DROP_REASONS)


class CountersIn(Tallies):
    """The run's totals (they restart at 0 with each run) and the same per rule."""

    seen: Count = Field(default=0, description="Frames the sampler decided on.")
    nothing_detected: Count = Field(default=0, description="Frames seen with no detection at all.")
    per_rule: dict[RuleName, RuleCountsIn] = Field(default_factory=dict, max_length=MAX_RULES)


class SpoolIn(BaseModel):
    """The device's backlog now: frames waiting to be uploaded, and their bytes."""

    entries: Count = 0
    bytes: Count = 0


class HeartbeatIn(BaseModel):
    """``POST …/devices/{device_id}/heartbeat``: what a collector says about itself every 30 s."""

    labels: dict[LabelKey, LabelText] = Field(
        default_factory=dict,
        max_length=2 * MAX_LABELS,
        description="The device's labels (key=value), e.g. site (docs/fleet.md#labels).",
    )
    model_version: Version | None = None
    rules_etag: Version | None = Field(None, description="The ETag of the server-held rules it runs.")
    software_version: Annotated[str, StringConstraints(max_length=100, pattern=_PLAIN)] | None = None
    counters: CountersIn = CountersIn()
    spool: SpoolIn = SpoolIn()
    started_at: datetime | None = Field(None, description="When this run started (the device's clock).")
    final: bool = Field(False, description="The run's last heartbeat: the collector is stopping.")

    def heartbeat(self, labels: dict[str, str]) -> Heartbeat:
        """The store's `Heartbeat` (``labels`` as checked by the route); times as naive UTC."""
        started = self.started_at
        if started is not None and started.tzinfo is not None:
            started = started.astimezone(UTC).replace(tzinfo=None)
        return Heartbeat(
            labels=labels,
            model_version=self.model_version or None,
            rules_etag=self.rules_etag or None,
            software_version=self.software_version or None,
            counters=self.counters.model_dump(),
            spool_entries=self.spool.entries,
            spool_bytes=self.spool.bytes,
            started_at=started,
            final=self.final,
        )


class SpoolOut(BaseModel):
    entries: int
    bytes: int


class DeviceOut(BaseModel):
    """A device as ``GET …/devices`` lists it. Times are UTC; ``state`` comes from ``last_seen``."""

    device_id: str
    labels: dict[str, str]
    first_seen: datetime
    last_seen: datetime
    state: Literal["online", "stale", "offline"]
    model_version: str | None
    rules_etag: str | None
    software_version: str | None
    counters: dict[str, Any] = Field(description="The last heartbeat's counters (`CountersIn`).")
    spool: SpoolOut = Field(description="Frames waiting on the device at the last heartbeat.")
    started_at: datetime | None = Field(description="When the device's current run started.")
    stopped: bool = Field(description="The last heartbeat was the run's final one.")
    heartbeats: int = Field(description="Heartbeats received from this device, all runs.")

    @classmethod
    def of(cls, device: DeviceView) -> Self:
        own = (
            name for name in cls.model_fields if name != "spool" and name in DeviceView.__dataclass_fields__
        )
        spool = SpoolOut(entries=device.spool_entries, bytes=device.spool_bytes)
        return cls(spool=spool, **{name: getattr(device, name) for name in own})


class DeviceDetail(DeviceOut):
    """``GET …/devices/{device_id}``: the listing's fields plus the device's history, oldest first."""

    history: list[HistoryPoint] = Field(
        description="One point a minute for 12 hours: the run's totals then (`store.devices.HistoryPoint`)."
    )
