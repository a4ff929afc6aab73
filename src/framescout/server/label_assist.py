"""Label assist: a background thread in every server process that pre-labels images which arrived
without predictions (the ``roboflow`` package's ``active_learning`` bare uploads, bug reports, plain
API uploads) with the project's current model (`framescout.store.label_assist.current_model`).

Each pass claims a few candidate images per project in the database (`store.label_assist.claim`:
several processes and hosts never label one image twice), runs the registered ONNX model through
the process's shared `ModelRegistry` (the one hosted inference uses: loaded and self-checked once),
one image at a time on this one thread, so uploads and hosted inference keep the rest of the CPU,
and writes the boxes as that version's predictions, marked server-made
(`framescout.store.provenance.LABEL_ASSIST`).

Failures are recorded on the image's claim and never retried with the same version: a model that
cannot be loaded marks the claimed images ``failed`` and is logged once per process; an image that
cannot be read or on which the model fails is marked ``failed``; a database error backs off (up to a
minute). On shutdown the thread stops between images and gives its unfinished claims back; a claim
left by a killed process expires after the lease (`Settings.label_assist_lease`)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from framescout.imaging import ImageError, decode_image
from framescout.models import ModelError
from framescout.predictions.box import Box, boxes_from_predictions
from framescout.server.errors import Unavailable
from framescout.server.inference import ModelRegistry
from framescout.server.prelabels import fit_to_project
from framescout.server.settings import Settings
from framescout.store import Store
from framescout.store.errors import StoreError
from framescout.store.label_assist import (
    Claimed,
    claim,
    current_model,
    fail,
    finish,
    projects_with_models,
    release,
)
from framescout.store.models import ModelVersion, Project, new_id, utcnow

log = logging.getLogger("framescout.server.label_assist")

CONFIDENCE = 0.40
IOU = 0.30
"""The hosted-inference route's defaults (40 % confidence, 30 % overlap), so a pre-label looks like
what ``model.predict`` answers."""
BATCH = 8
"""Images claimed per project and pass."""
FULL_SCAN_EVERY = 300.0
"""Seconds between passes that look at all of a project's images (the backlog, failed images a new
version may retry, expired claims); the passes between look only at images stored in the last
`RECENT` (an index range), so a big, fully labelled project costs little to watch."""
RECENT = timedelta(minutes=5)
MAX_BACKOFF = 60.0


class LabelAssistant:
    """The per-process worker; `start` it with the app, `stop` it on shutdown."""

    def __init__(self, store: Store, registry: ModelRegistry, settings: Settings) -> None:
        self.store = store
        self.registry = registry
        self.settings = settings
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{new_id()[:6]}"
        """This worker's name in ``label_assist.claimed_by``."""
        self.lease = timedelta(seconds=settings.label_assist_lease)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported: set[str] = set()
        self._scanned: dict[str, float] = {}
        """When each project's last full scan found less than a batch (`time.monotonic`)."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="label-assist", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the image in hand (its claim is written or given back)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        backoff = self.settings.label_assist_interval
        while not self._stop.is_set():
            try:
                busy = self.run_once()
                backoff = self.settings.label_assist_interval
            except Exception as exc:  # the database unreachable, a bug: say so once, back off
                self._report_once(f"label assist pass failed: {type(exc).__name__}: {exc}")
                busy = False
                backoff = min(MAX_BACKOFF, backoff * 2)
            self._stop.wait(0.0 if busy else backoff)

    def run_once(self) -> bool:
        """One pass over the projects that have a model; True when some image was claimed."""
        with self.store.db.reading() as session:
            work = [(p, current_model(session, p)) for p in projects_with_models(session)]
        busy = False
        for project, model in work:
            if model is None or self._stop.is_set():
                continue
            full = time.monotonic() - self._scanned.get(project.id, -FULL_SCAN_EVERY) >= FULL_SCAN_EVERY
            since = None if full else utcnow() - RECENT
            db, version = self.store.db, model.version
            claimed = claim(db, project, version, self.worker, limit=BATCH, lease=self.lease, since=since)
            if full and len(claimed) < BATCH:  # all looked at: only recent images for a while
                self._scanned[project.id] = time.monotonic()
            if claimed:
                busy = True
                self._label(project, model, claimed)
        return busy

    def _label(self, project: Project, model: ModelVersion, claimed: list[Claimed]) -> None:
        try:
            self.registry.detector(model)
        except Unavailable as exc:
            where = f"{project.workspace.slug}/{project.slug} version {model.version}"
            self._report_once(f"label assist cannot use {where}: {exc.message}")
            fail(self.store.db, [c.image_id for c in claimed], self.worker, f"{exc.code}: {exc.message}")
            return
        for index, item in enumerate(claimed):
            if self._stop.is_set():
                release(self.store.db, [c.image_id for c in claimed[index:]], self.worker)
                return
            self._label_one(project, model, item)

    def _label_one(self, project: Project, model: ModelVersion, item: Claimed) -> None:
        db = self.store.db
        found = self._predict(project, model, item)
        if isinstance(found, str):
            fail(db, [item.image_id], self.worker, found)
            return
        try:
            finish(db, project, item.image_id, model.version, self.worker, found, self.settings.class_limits)
        except StoreError as exc:  # e.g. another upload filled the class caps meanwhile
            fail(db, [item.image_id], self.worker, f"{exc.code}: {exc.message}")

    def _predict(self, project: Project, model: ModelVersion, item: Claimed) -> list[Box] | str:
        """The model's boxes on the image, as the project can take them; or why there are none."""
        try:
            data = self.store.blobs.get(item.sha256)
            image = decode_image(data, max_pixels=self.settings.max_pixels)
            predictions = self.registry.predict(model, image, confidence=CONFIDENCE, iou=IOU)
        except KeyError:
            return "image_missing: the image's bytes are not in the blob store"
        except (ImageError, Unavailable) as exc:
            return f"{exc.code}: {exc}"
        except (ModelError, OSError) as exc:
            return f"model_failed: {exc}"
        fitted = fit_to_project(predictions, project, self.settings.class_limits)
        if fitted is None:
            return "too_many_classes: the model's classes would break the project's class caps"
        return boxes_from_predictions(fitted)

    def _report_once(self, message: str) -> None:
        if message not in self._reported:
            if len(self._reported) > 1000:  # bounded: an old message may then be logged again
                self._reported.clear()
            self._reported.add(message)
            log.warning("%s", message)
