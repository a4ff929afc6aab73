"""`Holds`: routed destinations the server says do not exist, whose frames wait while the others go.

A rule's ``project`` is checked when ``collect`` starts, but a project can disappear later (or the
check could not reach the server). Its uploads then answer ``404 project_not_found``. Pausing the
whole uploader (the policy for a wrong key or the collector's own project) would stop every other
destination too, so the uploader holds that one destination instead: its frames stay in the spool,
are not sent again until the next probe (a doubling, jittered delay capped like the pause), and the
first delivery to it releases the hold. Nothing is dropped or quarantined.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from framescout.collector.transport import ServerAnswer
from framescout.retry import Backoff


@dataclass
class _Hold:
    answer: ServerAnswer
    probes: int
    next_probe: float


class Holds:
    """Held destinations by project slug; used by the uploader's thread only."""

    def __init__(self, backoff: Backoff, rng: random.Random) -> None:
        self._backoff, self._random = backoff, rng
        self._held: dict[str, _Hold] = {}

    def wait(self, project: str | None) -> float:
        """Seconds until a frame for ``project`` may be sent again (0: send it now)."""
        hold = self._held.get(project or "")
        return 0.0 if hold is None else max(0.0, hold.next_probe - time.monotonic())

    def hold(self, project: str, answer: ServerAnswer) -> float:
        """The server answered ``answer`` for ``project``: hold it; return the delay to the next probe."""
        hold = self._held.get(project)
        probes = 0 if hold is None else hold.probes + 1
        delay = self._backoff.delay(probes, self._random)
        self._held[project] = _Hold(answer, probes, time.monotonic() + delay)
        return delay

    def held(self, project: str) -> bool:
        return project in self._held

    def release(self, project: str | None) -> bool:
        """A frame for ``project`` was delivered: no longer held (``True`` if it was)."""
        return self._held.pop(project or "", None) is not None

    def status(self) -> dict[str, dict[str, object]]:
        """Each held project with the server's answer (``status``, ``code``, ``message``)."""
        return {project: hold.answer.as_dict() for project, hold in sorted(self._held.items())}
