"""`BatchCounter`: which labelling batch each kept frame goes to, counted across restarts.

A rule's ``batch`` names a dated batch per period (`framescout.sampling.routing`); with
``max_images`` the collector must know how many frames that name already got, also after a restart,
to send the next ones to the numbered continuation (``night-cams-2026-12-01-2``). The counts live in
the spool folder (``batches.json``, rewritten atomically after each assignment) rather than being
asked of the server: frames are named when they are spooled, offline too, and the server's batch
counts do not include the frames still waiting in the spool. The counts are this collector's:
several devices filling one batch each count their own frames.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from framescout.atomic import write_file_atomically
from framescout.sampling.config_types import BatchConfig
from framescout.sampling.routing import batch_name, continuation

log = logging.getLogger("framescout.collector")

FILE_NAME = "batches.json"
KEEP = 512
"""Names remembered; older periods are forgotten first (a period that is over gets no more frames)."""


class BatchCounter:
    """Frames given per (destination project, dated batch name); ``path`` ``None`` keeps them in memory."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._counts: dict[str, int] = self._load()

    def _load(self) -> dict[str, int]:
        """The saved counts; a missing or unreadable file starts from zero (logged, never fatal: the
        worst case is a batch that holds more than ``max_images``)."""
        if self.path is None or not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {str(k): int(v) for k, v in data["counts"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("cannot read the batch counts in %s (%s); counting from zero", self.path, exc)
            return {}

    def assign(self, project: str | None, batch: BatchConfig, at: float) -> str:
        """The batch of a frame observed at ``at`` that goes to ``project`` (``None``: the collector's),
        counted so that each name holds at most ``batch.max_images``."""
        base = batch_name(batch, at)
        key = f"{project or ''}/{base}"
        with self._lock:
            earlier = self._counts.pop(key, 0)
            self._counts[key] = earlier + 1  # re-inserted last: the oldest names are trimmed first
            while len(self._counts) > KEEP:
                del self._counts[next(iter(self._counts))]
            self._save()
        return continuation(base, earlier, batch.max_images)

    def counts(self) -> dict[str, int]:
        """Frames given per ``project/dated-name`` (``/night-cams-2026-12-01`` for the collector's own)."""
        with self._lock:
            return dict(self._counts)

    def _save(self) -> None:
        if self.path is None:
            return
        data = json.dumps({"version": 1, "counts": self._counts}, indent=1).encode()
        try:
            write_file_atomically(self.path, data)
        except OSError as exc:  # the frame still goes out; only the count after a restart suffers
            log.warning("cannot save the batch counts to %s: %s", self.path, exc)
