"""Per-rule counters users can trust: seen, kept, queued, uploaded, duplicates, retried, quarantined,
dropped (and why); and frames with nothing detected (the model runs but finds nothing)."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RuleCounts:
    kept: int = 0
    queued: int = 0
    uploaded: int = 0
    duplicates: int = 0
    retried: int = 0
    quarantined: int = 0
    dropped: Counter[str] = field(default_factory=Counter)


class Counters:
    """Thread-safe tallies; ``snapshot()`` is what `Collector.status()` returns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen = 0
        self.nothing_detected = 0
        self.limited: Counter[str] = Counter()
        self.rules: defaultdict[str, RuleCounts] = defaultdict(RuleCounts)

    def add(self, rule: str, name: str, amount: int = 1) -> None:
        with self._lock:
            counts = self.rules[rule]
            setattr(counts, name, getattr(counts, name) + amount)

    def drop(self, rule: str, reason: str) -> None:
        with self._lock:
            self.rules[rule].dropped[reason] += 1

    def observed(
        self, kept_by: str | None, limited: tuple[str, ...], *, nothing_detected: bool = False
    ) -> None:
        with self._lock:
            self.seen += 1
            self.nothing_detected += nothing_detected
            self.limited.update(limited)
            if kept_by is not None:
                self.rules[kept_by].kept += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "seen": self.seen,
                "nothing_detected": self.nothing_detected,
                "limited": dict(self.limited),
                "rules": {
                    name: {
                        "kept": c.kept,
                        "queued": c.queued,
                        "uploaded": c.uploaded,
                        "duplicates": c.duplicates,
                        "retried": c.retried,
                        "quarantined": c.quarantined,
                        "dropped": dict(c.dropped),
                    }
                    for name, c in sorted(self.rules.items())
                },
            }
