"""The one calling convention every sampling rule follows.

A rule looks at a :class:`~framescout.sampling.frame.Frame` and returns a short reason when it
wants the frame kept, or ``None``. Rules hold only their own small state (a counter, a random
generator); credit and limits are the sampler's job, which tells a rule when it actually kept a
frame through :meth:`Rule.on_kept`.
"""

from __future__ import annotations

import hashlib
import json
import random
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

from framescout.sampling.frame import Frame
from framescout.sampling.limiter import LimitSpec, parse_limits


class Rule(ABC):
    """A named, tagged, optionally rate-limited reason to keep a frame."""

    kind: str = "rule"
    sees_every_frame: bool = False
    """True for rules whose state must see every frame (e.g. counters), even after an earlier rule kept it."""
    uses_seed: bool = False
    """True for rules whose draws come from the sampler seed (a new seed changes what they keep)."""

    def __init__(
        self,
        *,
        name: str | None = None,
        tags: Iterable[str] = (),
        limits: LimitSpec = None,
        storage: str | None = None,
    ) -> None:
        self.name = name or self.kind
        self.tags = tuple(tags)
        self.limits = parse_limits(limits)
        self.storage = storage
        """Where this rule's limits are counted (a Redis URI shares them); ``None``: the sampler's."""

    @abstractmethod
    def check(self, frame: Frame) -> str | None:
        """Return why this frame should be kept, or ``None`` if this rule does not want it."""

    def on_kept(self, frame: Frame) -> None:  # noqa: B027 - optional hook, empty by design
        """Called after the sampler kept ``frame`` on this rule's behalf (credit was available)."""

    def reset(self, seed: int | None) -> None:  # noqa: B027 - optional hook, empty by design
        """Forget all state; rules that draw random numbers reseed from ``seed`` and their name."""

    def rng_for(self, seed: int | None) -> random.Random:
        """A generator private to this rule, so adding a rule never shifts another rule's draws."""
        return random.Random(None if seed is None else f"{seed}:{self.name}")

    def fingerprint(self) -> str:
        """A short digest of this rule's settings: its type and every public attribute (name, tags,
        limits, thresholds...), never its private state. Two rules with the same fingerprint decide
        alike, so a configuration swap keeps the state of a rule whose fingerprint did not change; the
        digest is stable across processes (sets are sorted, whatever the hash seed)."""
        settings = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        text = json.dumps([type(self).__qualname__, _canonical(settings)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def fmt_classes(names: Iterable[str]) -> str:
    """Human-readable class list for reasons: ``person, car``."""
    return ", ".join(sorted(names))


def _canonical(value: Any) -> Any:
    """``value`` as plain JSON data with a fixed order: sets sorted, mappings by key, limits as text."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)  # RateLimitItem ("10 per 1 minute"), enums and other value objects
