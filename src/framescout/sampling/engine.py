"""The `Sampler`: runs the rule stack on a frame and decides whether to keep it.

Rules are tried in order; the frame is kept by the first rule that wants it *and* still has
credit under its own limits and the sampler's global limits. A rule that matched but had no credit
is recorded in ``Decision.limited`` and the next rule is tried.

`Sampler.swap` applies a new rule stack between two frames (the collector following the server's
rules): a rule whose name and settings (its `Rule.fingerprint`) did not change keeps its state and its
limit credit, changed and new rules start fresh, removed ones are forgotten.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from limits.storage import Storage

from framescout.predictions import Predictions
from framescout.sampling.clock import Clock, system_clock
from framescout.sampling.decision import Decision
from framescout.sampling.frame import Frame
from framescout.sampling.limiter import Limiter, LimitGroup, LimitSpec, group_key, parse_limits
from framescout.sampling.rules.base import Rule
from framescout.sampling.storage_uri import check_storage_uri, require_client


@dataclass(frozen=True)
class Swap:
    """What `Sampler.swap` did, by rule name (for logs and status)."""

    kept: tuple[str, ...]
    """Same name and settings: state and limit credit carried over."""
    changed: tuple[str, ...]
    """Same name, new settings: started fresh."""
    added: tuple[str, ...]
    removed: tuple[str, ...]
    global_limits_kept: bool
    """The sampler-wide limits were the same, so their credit carried over."""


class Sampler:
    """Decides, frame by frame, whether a frame is worth labelling. Deterministic under ``seed``
    and ``clock``; safe to call from several threads (decisions are serialised)."""

    def __init__(
        self,
        rules: Sequence[Rule],
        *,
        limits: LimitSpec = None,
        seed: int | None = None,
        clock: Clock = system_clock,
        storage: Storage | str | None = None,
        namespace: str | None = None,
    ) -> None:
        names = [r.name for r in rules]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(duplicates)}")
        for uri in (storage if isinstance(storage, str) else None, *(r.storage for r in rules)):
            if uri is not None:
                require_client(check_storage_uri(uri))
        self.rules = tuple(rules)
        self.seed = seed
        self.clock = clock
        self._frame_time: float | None = None
        self._storage = storage
        self._limiter = Limiter(storage, self._limit_time)
        self.namespace = namespace
        """What keeps these limits apart from other projects' in a shared storage (``workspace/project``)."""
        items = parse_limits(limits)
        self._global = LimitGroup(group_key(namespace, "global", "all", items), items)
        self._groups = {
            r.name: LimitGroup(group_key(namespace, "rule", r.name, r.limits), r.limits, r.storage)
            for r in self.rules
        }
        self._watchers = tuple((i, r) for i, r in enumerate(self.rules) if r.sees_every_frame)
        self._lock = threading.Lock()
        for rule in self.rules:
            rule.reset(seed)

    def decide(
        self,
        predictions: Predictions,
        *,
        model_version: str | None = None,
        timestamp: float | None = None,
        image: Any = None,
    ) -> Decision:
        """Decide for one frame. ``timestamp`` (the frame's own time, e.g. its time in a recorded video)
        defaults to the sampler's clock; the rules and the in-process limits both count on it. ``image``
        (the frame's pixels) is for the rules that describe them (``outlier``, ``scene_change``)."""
        with self._lock:
            now = self.clock() if timestamp is None else timestamp
            self._frame_time = now
            try:
                return self._decide(Frame(predictions, now, model_version, image))
            finally:
                if timestamp is None:
                    self._frame_time = None

    def _limit_time(self) -> float:
        """Now, for the in-process limits: the frame being decided, else the last frame decided with an
        explicit timestamp (so a replay's limits follow the replay), else the sampler's clock."""
        return self.clock() if self._frame_time is None else self._frame_time

    def _decide(self, frame: Frame) -> Decision:
        now = frame.timestamp
        limited: list[str] = []
        for index, rule in enumerate(self.rules):
            reason = rule.check(frame)
            if reason is None:
                continue
            exhausted = self._limiter.acquire((self._groups[rule.name], self._global))
            if exhausted is not None:
                limited.append(rule.name)
                continue
            rule.on_kept(frame)
            self._let_watchers_see(frame, after=index)
            return Decision(True, rule.name, rule.tags, reason, now, tuple(limited), rule.kind)
        if limited:
            return Decision(
                False, None, (), f"matched {', '.join(limited)} but over the limit", now, tuple(limited)
            )
        return Decision(False, None, (), "no rule matched", now)

    def _let_watchers_see(self, frame: Frame, after: int) -> None:
        """Rules that count across frames must see this frame even though an earlier rule kept it."""
        for index, rule in self._watchers:
            if index > after:
                rule.check(frame)

    def swap(self, other: Sampler) -> Swap:
        """Take ``other``'s rules, limits, seed, namespace and storage between two frames, keeping this
        sampler's clock. A rule of ``other`` with the name and the settings of one of ours (the seed
        counts for rules that draw from it) is replaced by ours, with its state (counters, random
        generator, quota window) and its limit credit; the others start as ``other`` built them, and
        the credit the changed or removed ones used in this process is forgotten. A limit counted in a
        shared storage keeps its fleet-wide count (other devices may not have swapped yet); a changed
        limit has a key of its own anyway. A different default storage means a fresh limiter."""
        with self._lock:
            mine = {r.name: r for r in self.rules}
            kept: list[str] = []
            changed: list[str] = []
            added: list[str] = []
            rules: list[Rule] = []
            for rule in other.rules:
                old = mine.get(rule.name)
                if (
                    old is not None
                    and self._same(old, rule, other.seed)
                    and other.namespace == self.namespace
                ):
                    kept.append(rule.name)
                    rules.append(old)
                else:
                    (changed if old is not None else added).append(rule.name)
                    rules.append(rule)
            removed = tuple(name for name in mine if name not in {r.name for r in rules})
            global_kept = other._global == self._global
            if other._storage != self._storage:
                self._limiter = Limiter(other._storage, self._limit_time)
            else:
                dropped = [g for name, g in self._groups.items() if name not in kept]
                self._limiter.forget_local([*dropped, *([] if global_kept else [self._global])])
            self._storage = other._storage
            self.rules = tuple(rules)
            self.seed = other.seed
            self.namespace = other.namespace
            self._global = other._global
            self._groups = {r.name: other._groups[r.name] for r in self.rules}
            self._watchers = tuple((i, r) for i, r in enumerate(self.rules) if r.sees_every_frame)
            return Swap(tuple(kept), tuple(changed), tuple(added), removed, global_kept)

    def _same(self, old: Rule, new: Rule, seed: int | None) -> bool:
        """Whether ``new`` (under ``seed``) decides exactly as ``old`` does under this sampler's seed."""
        if type(old) is not type(new) or old.fingerprint() != new.fingerprint():
            return False
        return not new.uses_seed or seed == self.seed

    def remaining(self) -> dict[str, dict[str, int]]:
        """Credit left per rule and globally (``{"global": {...}, rule_name: {...}}``)."""
        out = {"global": self._limiter.remaining(self._global)}
        for name, group in self._groups.items():
            if group.items:
                out[name] = self._limiter.remaining(group)
        return out

    def shared_limits(self) -> list[dict[str, Any]]:
        """Each shared storage in use (`Limiter.status`): state, outages, checks answered locally."""
        return self._limiter.status()

    def reset(self) -> None:
        """Forget all rule state and limit credit, as if just created."""
        with self._lock:
            self._frame_time = None
            self._limiter.reset()
            for rule in self.rules:
                rule.reset(self.seed)
