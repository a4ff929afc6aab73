"""``framescout models predict``: run a registered model version over a project's stored frames and store
its predictions as that version's, so a new model is measured on the frames already reviewed before
it is deployed.

Reviewed frames go first, then those waiting for review (rejected frames are left out). A background
thread reads and decodes the next batch while this one runs through the model; each batch is stored
in one transaction (`framescout.store.prediction_versions.store_predicted`), so an interrupted run
loses at most the batch in flight, and running the command again continues where it stopped: images
the version has predicted (even those where it found nothing) are skipped."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from framescout.cli._output import console, fail
from framescout.cli._store import open_store
from framescout.cli.projects import split_ref
from framescout.cli.serve import DATA_DIR_HELP
from framescout.errors import CodedError
from framescout.imaging import ImageError, decode_image
from framescout.models import ModelError, OnnxDetector
from framescout.predictions.box import Box, boxes_from_predictions
from framescout.server.inference import ModelRegistry
from framescout.store import Store
from framescout.store.accounts import get_model_version, get_project, get_workspace
from framescout.store.models import Project
from framescout.store.prediction_versions import Pending, count_pending, pending_images, store_predicted

Decoded = tuple[Pending, Any | str]
"""An image of a batch and its decoded pixels, or why it could not be read."""


@dataclass
class Run:
    """One ``models predict`` run over a project: what it reads, with which model, and its tally."""

    store: Store
    project: Project
    version: str
    detector: OnnxDetector
    confidence: float = 0.25
    iou: float = 0.6
    batch_size: int = 16
    only_reviewed: bool = False
    limit: int | None = None
    images: int = 0
    boxes: int = 0
    skipped: list[str] = field(default_factory=list)

    def passes(self) -> tuple[bool, ...]:
        """Reviewed frames first; then, unless ``--only-reviewed``, those waiting for review."""
        return (True,) if self.only_reviewed else (True, False)

    def todo(self) -> tuple[int, int]:
        """How many images the version has not predicted yet: (reviewed, all), before ``--limit``."""
        with self.store.db.reading() as session:
            counts = {
                r: count_pending(session, self.project, self.version, reviewed=r) for r in self.passes()
            }
        return counts[True], sum(counts.values())

    def batches(self, stop: threading.Event) -> Iterator[list[Decoded]]:
        """The images to predict, a batch at a time, read and decoded (on the reader thread)."""
        left = self.limit
        for reviewed in self.passes():
            after = ""
            while not stop.is_set() and (left is None or left > 0):
                size = self.batch_size if left is None else min(self.batch_size, left)
                with self.store.db.reading() as session:
                    rows = pending_images(
                        session, self.project, self.version, reviewed=reviewed, after=after, limit=size
                    )
                if not rows:
                    break
                after = rows[-1].id
                left = None if left is None else left - len(rows)
                yield [(row, self._decode(row)) for row in rows]

    def _decode(self, row: Pending) -> Any | str:
        try:
            return decode_image(self.store.blobs.get(row.sha256))
        except KeyError:
            return "its bytes are missing from the blob store (framescout doctor)"
        except ImageError as exc:
            return str(exc)

    def predict(self, batch: list[Decoded]) -> None:
        """Run the model on a batch and store its predictions (one transaction)."""
        results: list[tuple[Pending, list[Box]]] = []
        for row, image in batch:
            if isinstance(image, str):
                self.skipped.append(f"{row.id}: {image}")
                continue
            found = self.detector.predict(image, confidence=self.confidence, iou=self.iou)
            results.append((row, _inside(boxes_from_predictions(found), row)))
        if results:
            self.boxes += store_predicted(self.store.db, self.project, self.version, results)
        self.images += len(results)


def _inside(boxes: list[Box], image: Pending) -> list[Box]:
    """The model's boxes clipped to the image, degenerate ones dropped (what the store accepts)."""
    out = []
    for b in boxes:
        x_min, x_max = max(0.0, b.x_min), min(float(image.width), b.x_max)
        y_min, y_max = max(0.0, b.y_min), min(float(image.height), b.y_max)
        if x_max > x_min and y_max > y_min:
            out.append(Box(b.class_name, x_min, y_min, x_max, y_max, b.confidence))
    return out


def _reader(run: Run, out: queue.Queue[list[Decoded] | BaseException | None], stop: threading.Event) -> None:
    """The background half: query and decode batches ahead of the model (at most two waiting)."""
    try:
        for batch in run.batches(stop):
            out.put(batch)
    except BaseException as exc:  # handed to the main thread, which reports it
        out.put(exc)
    out.put(None)


def _execute(run: Run, total: int) -> None:
    stop = threading.Event()
    ready: queue.Queue[list[Decoded] | BaseException | None] = queue.Queue(maxsize=2)
    reader = threading.Thread(
        target=_reader, args=(run, ready, stop), name="models-predict-reader", daemon=True
    )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    reader.start()
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(f"version {run.version}", total=total)
            while (item := ready.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                run.predict(item)
                progress.advance(task, len(item))
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting to hand over a batch
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.1)


def predict_command(
    ref: str = typer.Argument(..., metavar="WORKSPACE/PROJECT"),
    version: int = typer.Argument(..., min=1, help="A version registered with `framescout models add`."),
    only_reviewed: bool = typer.Option(False, "--only-reviewed", help="Only frames a reviewer has reviewed."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many images in this run."),
    confidence: float = typer.Option(
        0.25,
        min=0.0,
        max=1.0,
        help="Keep detections at least this confident (an evaluation recommends no lower).",
    ),
    iou: float = typer.Option(0.6, min=0.0, max=1.0, help="NMS IoU threshold."),
    batch_size: int = typer.Option(
        16, "--batch-size", min=1, max=1000, help="Images stored per transaction."
    ),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Run VERSION over the project's stored frames (reviewed first) and store its predictions as
    model version VERSION, marked as made by framescout; other versions' predictions and the ground
    truth stay. Resumable: images VERSION has predicted already are skipped, so running it again after
    an interruption continues where it stopped."""
    workspace, project_slug = split_ref(ref)
    store = open_store(data_dir)
    try:
        run = _prepare(store, workspace, project_slug, version)
        run.confidence, run.iou, run.batch_size = confidence, iou, batch_size
        run.only_reviewed, run.limit = only_reviewed, limit
        reviewed, total = run.todo()
        total = total if limit is None else min(total, limit)
        console.print(
            f"{workspace}/{project_slug} version {version}: {total} image(s) to predict"
            f" ({reviewed} reviewed, first)"
        )
        _execute(run, total)
    except KeyboardInterrupt:
        console.print(f"interrupted after {run.images} image(s); run the same command again to continue")
        raise typer.Exit(130) from None
    except CodedError as exc:
        fail(exc.message)
    except ModelError as exc:
        fail(f"version {version} failed: {exc}")
    finally:
        store.close()
    console.print(
        f"stored {run.boxes} prediction(s) of version {version} on {run.images} image(s)"
        + (f"; {len(run.skipped)} skipped" if run.skipped else "")
    )
    for line in run.skipped[:10]:
        console.print(f"  [yellow]skipped[/] {escape(line)}")


def _prepare(store: Store, workspace: str, project_slug: str, version: int) -> Run:
    """The run's project and loaded, self-checked model (exits 1 on an unknown one)."""
    try:
        with store.db.reading() as session:
            project = get_project(session, get_workspace(session, workspace), project_slug)
            model = get_model_version(session, project, version)
        shared = store.blobs if store.shared_blobs else None
        detector = ModelRegistry(store.models_dir, shared).detector(model)
    except CodedError as exc:
        store.close()
        fail(exc.message)
    return Run(store, project, str(version), detector)
