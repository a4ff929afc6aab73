"""The encoder stage: resize and JPEG-encode kept frames off the caller's thread, then spool them.

`observe()` only puts a reference to the frame on a bounded queue; if the queue is full (the device
cannot keep up), the frame is dropped and counted rather than blocking inference."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from framescout.collector.batches import BatchCounter
from framescout.collector.counters import Counters
from framescout.collector.record import FrameRecord
from framescout.collector.spool import Spool, SpoolFull
from framescout.imaging import ImageError, encode_jpeg, resize_max_side, to_bgr
from framescout.predictions import Predictions
from framescout.sampling.config_types import BatchConfig
from framescout.selection.novelty import NoveltyFilter

log = logging.getLogger("framescout.collector")


@dataclass(frozen=True)
class Job:
    """A kept frame on its way to the spool; ``predictions`` are in the frame's own pixels (the
    encoder puts them in ``frame`` in the pixels it spools)."""

    image: Any
    predictions: Predictions
    priority: int
    frame: FrameRecord
    batch: BatchConfig | None = None
    """The keeping rule's ``batch``: the encoder names the frame's batch when it spools it."""

    @property
    def rule(self) -> str:
        return self.frame.sampling_rule


class Encoder:
    """One daemon thread: job queue -> resize -> JPEG -> spool."""

    def __init__(
        self,
        spool: Spool,
        counters: Counters,
        *,
        max_side: int | None = 1280,
        quality: int = 90,
        backlog: int = 64,
        on_spooled: Callable[[], None] | None = None,
        novelty: NoveltyFilter | None = None,
        batches: BatchCounter | None = None,
    ) -> None:
        self.spool, self.counters = spool, counters
        self.novelty = novelty
        self.batches = batches or BatchCounter()
        self.max_side, self.quality = max_side, quality
        self.on_spooled = on_spooled
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=backlog)
        self._thread = threading.Thread(target=self._run, name="framescout-encoder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: Job) -> bool:
        """Hand a frame over without waiting; ``False`` (and a counted drop) when the backlog is full."""
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self.counters.drop(job.rule, "encoder_backlog_full")
            return False
        return True

    def pending(self) -> int:
        return self._queue.unfinished_tasks

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._encode(job)
            finally:
                self._queue.task_done()

    def _encode(self, job: Job) -> None:
        try:
            original = to_bgr(job.image)
            novelty = self.novelty  # read once: a rules swap may replace it meanwhile
            if novelty is not None and not novelty.check(original).novel:
                self.counters.drop(job.rule, "similar_to_recent")
                return
            image, scale = resize_max_side(original, self.max_side)
            jpeg = encode_jpeg(image, self.quality)
        except (ImageError, ValueError) as exc:
            self.counters.drop(job.rule, "encode_failed")
            log.warning("cannot encode a kept frame (%s): %s", job.rule, exc)
            return
        height, width = image.shape[:2]
        boxes = job.predictions.scale(scale) if scale != 1.0 else job.predictions
        predictions = boxes.to_roboflow()
        predictions["image"] = {"width": int(width), "height": int(height)}  # match the uploaded pixels
        frame = replace(job.frame, predictions=predictions, width=int(width), height=int(height))
        if job.batch is not None:  # named now, so frames the novelty stage skips take no batch room
            frame = replace(frame, batch=self.batches.assign(frame.project, job.batch, _observed_at(frame)))
        try:
            _, evicted = self.spool.put(jpeg, frame.to_json(), rule=job.rule, priority=job.priority)
        except SpoolFull as exc:
            self.counters.drop(job.rule, exc.reason)
            log.warning("cannot spool a kept frame (%s): %s", job.rule, exc)
            return
        except OSError as exc:
            self.counters.drop(job.rule, "spool_write_failed")
            log.warning("cannot spool a kept frame (%s): %s", job.rule, exc)
            return
        for gone in evicted:
            self.counters.drop(gone.rule, "evicted_spool_cap")
            log.warning("spool cap reached: evicted a frame kept by %s (%s)", gone.rule, gone.id)
        self.counters.add(job.rule, "queued")
        if self.on_spooled:
            self.on_spooled()

    def join(self) -> None:
        """Wait until every submitted frame is spooled (or dropped)."""
        self._queue.join()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)


def _observed_at(frame: FrameRecord) -> float:
    """The frame's own time (``observe`` puts it in the metadata), which dates its batch."""
    at = frame.metadata.get("observed_at")
    return float(at) if isinstance(at, int | float) else time.time()
