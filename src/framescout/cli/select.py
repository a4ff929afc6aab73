"""``framescout select``: pick a labelling batch from a folder of unlabelled images."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from framescout.cli._output import console, fail
from framescout.selection import STRATEGIES, ColorTexture, Embedder, OnnxEmbedder, SelectionError, select
from framescout.selection.folder import list_images, scan_folder

NEEDS_MODEL = {"least_confidence", "margin", "entropy", "margin_kcenter", "ranked_batch", "class_balance"}
NEEDS_EMBEDDINGS = {"kcenter", "margin_kcenter", "ranked_batch"}


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _detector(model: Path, model_format: str | None, classes: Path | None) -> Any:
    from framescout import models  # the runners load onnxruntime: only when --model is used

    try:
        names = models.load_class_names(classes) if classes else None
        return models.OnnxDetector(model, class_names=names, format=model_format)
    except (OSError, ValueError) as exc:
        fail(str(exc))


def select_command(
    images: Path = typer.Option(..., "--images", help="Folder of unlabelled images (searched recursively)."),
    budget: int = typer.Option(..., "--budget", "-n", min=1, help="How many images to pick."),
    strategy: str | None = typer.Option(
        None, help=f"One of: {', '.join(STRATEGIES)}. Default: margin_kcenter with --model, else kcenter."
    ),
    model: Path | None = typer.Option(None, help="ONNX detector whose uncertainty ranks the pool."),
    model_format: str | None = typer.Option(
        None, "--format", help="Detector output layout, when not auto-detected."
    ),
    classes: Path | None = typer.Option(None, help="Class names file for the detector."),
    embedder: Path | None = typer.Option(
        None, help="ONNX image encoder for diversity (default: a colour/texture descriptor)."
    ),
    near_duplicate_bits: int = typer.Option(
        4, help="Perceptual-hash distance (of 64 bits) that counts as a duplicate."
    ),
    seed: int = typer.Option(0, help="Random seed (ties, random strategy, first k-center pick)."),
    out: Path | None = typer.Option(None, help="Write the pick as JSON (path, rank, score details)."),
    copy_to: Path | None = typer.Option(None, help="Copy the picked images into this folder."),
    upload: str | None = typer.Option(
        None, help="Upload the pick to WORKSPACE/PROJECT on --server as a batch."
    ),
    server: str | None = typer.Option(None, envvar="FRAMESCOUT_SERVER", help="Server URL for --upload."),
    api_key: str | None = typer.Option(None, envvar="FRAMESCOUT_API_KEY", help="API key for --upload."),
    batch: str | None = typer.Option(None, help="Batch name for --upload (default: select-<strategy>)."),
) -> None:
    """Rank a folder by uncertainty and diversity, drop duplicates, and output the best BUDGET images."""
    strategy = strategy or ("margin_kcenter" if model else "kcenter")
    if strategy not in STRATEGIES:
        fail(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    if strategy in NEEDS_MODEL and model is None:
        fail(f"--strategy {strategy} ranks by model uncertainty: give --model (or use kcenter / random)")
    if upload and not (server and api_key):
        fail("--upload needs --server and --api-key (or FRAMESCOUT_SERVER / FRAMESCOUT_API_KEY)")
    if not images.is_dir():
        fail(f"{images} is not a folder")
    paths = list_images(images)
    if not paths:
        fail(f"no images found under {images}")
    detector = _detector(model, model_format, classes) if model else None
    features: Embedder | None = None
    if strategy in NEEDS_EMBEDDINGS:
        try:
            features = OnnxEmbedder(embedder) if embedder else ColorTexture()
        except ValueError as exc:
            fail(str(exc))
    with _progress() as progress:
        task = progress.add_task("reading images", total=len(paths))
        scanned = scan_folder(
            paths,
            embedder=features,
            detector=detector,
            near_duplicate_bits=near_duplicate_bits,
            progress=lambda done: progress.update(task, completed=done),
        )
    if not scanned.paths:
        fail(f"none of the {len(paths)} image(s) under {images} could be read")
    try:
        picked = select(scanned.pool, budget, strategy, seed=seed)
    except SelectionError as exc:
        fail(str(exc))
    chosen = [scanned.paths[int(i)] for i in picked]
    console.print(
        f"{len(paths)} image(s): {len(scanned.skipped)} unreadable, {len(scanned.duplicates)} duplicate(s), "
        f"{len(scanned.paths)} in the pool; picked {len(chosen)} by {strategy}"
    )
    for name, reason in list(scanned.skipped.items())[:10]:
        console.print(f"  [yellow]skipped[/] {escape(name)}: {escape(reason)}")
    if out:
        rows = [{"rank": r + 1, "path": str(p)} for r, p in enumerate(chosen)]
        report = {
            "strategy": strategy,
            "budget": budget,
            "picked": rows,
            "skipped": scanned.skipped,
            "duplicates": scanned.duplicates,
        }
        out.write_text(json.dumps(report, indent=2))
    if copy_to:
        copy_to.mkdir(parents=True, exist_ok=True)
        for rank, path in enumerate(chosen, start=1):
            shutil.copy2(path, copy_to / f"{rank:05d}_{path.name}")
    if upload:
        _upload(chosen, scanned, picked, upload, server or "", api_key or "", batch or f"select-{strategy}")
    if not (out or copy_to or upload):
        for path in chosen:
            typer.echo(str(path))


def _upload(
    chosen: list[Path], scanned: Any, picked: Any, project: str, server: str, key: str, batch: str
) -> None:
    from framescout.client import ApiError, Client, ServerUnavailable

    predictions = scanned.pool.predictions
    new = 0
    with Client(server, key) as client, _progress() as progress:
        task = progress.add_task("uploading", total=len(chosen))
        for n, (path, index) in enumerate(zip(chosen, picked, strict=True), start=1):
            try:
                result = client.upload_image(
                    project,
                    path,
                    name=path.name,
                    batch=batch,
                    tags=["selected"],
                    predictions=None if predictions is None else predictions[int(index)],
                )
            except (ApiError, ServerUnavailable) as exc:
                fail(f"upload of {path} failed: {exc}")
            new += not result.duplicate
            progress.update(task, completed=n)
    console.print(
        f"uploaded {new} new image(s) to {escape(project)} (batch {escape(batch)}); "
        f"{len(chosen) - new} were already there"
    )
