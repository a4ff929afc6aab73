"""`Decision`: the sampler's answer for one frame — kept or not, by which rule, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a frame is kept, by which rule, with which tags, and a short human-readable reason.

    ``limited`` names the rules that matched but had no credit left (per-rule or global limits),
    so counters can say how many frames each limit dropped.
    """

    keep: bool
    rule: str | None
    tags: tuple[str, ...]
    reason: str
    timestamp: float
    limited: tuple[str, ...] = ()
    rule_kind: str | None = None
    """The type of the keeping rule (``confidence_below``, ``random``, ...), for dashboards."""

    def __bool__(self) -> bool:
        return self.keep

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form (used by ``framescout rules explain --json`` and uploads)."""
        return {
            "keep": self.keep,
            "rule": self.rule,
            "tags": list(self.tags),
            "reason": self.reason,
            "timestamp": self.timestamp,
            "limited": list(self.limited),
            "rule_kind": self.rule_kind,
        }
