"""``framescout predict``: run an ONNX detector over images and write a predictions file
(the format ``framescout rules explain`` replays)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from framescout.cli._classes import warn_if_numbered
from framescout.cli._output import console, fail
from framescout.imaging import ImageError, read_image_file, to_bgr
from framescout.models import FORMATS, ModelError, OnnxDetector, load_class_names
from framescout.selection.folder import IMAGE_SUFFIXES, list_images


def expand(paths: list[Path]) -> list[Path]:
    """Files as given, folders as their images (recursive, sorted)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(list_images(path))
        elif path.suffix.lower() in IMAGE_SUFFIXES or path.exists():
            out.append(path)
        else:
            fail(f"{path} does not exist")
    return out


def predict(
    paths: list[Path] = typer.Argument(..., help="Image files and/or folders."),
    model: Path = typer.Option(..., help="ONNX detector."),
    model_format: str | None = typer.Option(
        None, "--format", help=f"One of {', '.join(FORMATS)}; auto-detected."
    ),
    classes: Path | None = typer.Option(None, help="Class names file (default: the model's metadata)."),
    confidence: float = typer.Option(0.35, min=0.0, max=1.0, help="Score threshold."),
    iou: float = typer.Option(0.6, min=0.0, max=1.0, help="NMS IoU threshold."),
    model_version: str | None = typer.Option(
        None, help="Recorded with each frame (threshold schedules use it)."
    ),
    out: Path = typer.Option(..., help="Predictions file to write (JSON list of frames)."),
) -> None:
    """Detect objects in every image and write one Roboflow-style frame per image."""
    try:
        names = load_class_names(classes) if classes else None
        detector = OnnxDetector(model, class_names=names, format=model_format)
    except ModelError as exc:
        fail(str(exc))
    warn_if_numbered(detector, classes)
    files = expand(paths)
    if not files:
        fail("no images to run on")
    frames: list[dict[str, Any]] = []
    skipped: list[str] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("predicting", total=len(files))
        for path in files:
            try:
                image = to_bgr(read_image_file(path))
            except ImageError as exc:
                skipped.append(f"{path}: {exc}")
            else:
                predictions = detector.predict(image, confidence=confidence, iou=iou)
                frame: dict[str, Any] = {"file": str(path), **predictions.to_roboflow()}
                if model_version is not None:
                    frame["model_version"] = model_version
                frames.append(frame)
            progress.advance(task)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(frames))
    tmp.replace(out)
    boxes = sum(len(f["predictions"]) for f in frames)
    console.print(
        f"{len(frames)} image(s), {boxes} detection(s) with {escape(detector.format)} -> {escape(str(out))}"
        + (f"; {len(skipped)} skipped" if skipped else "")
    )
    for line in skipped[:10]:
        console.print(f"  [yellow]skipped[/] {escape(line)}")
