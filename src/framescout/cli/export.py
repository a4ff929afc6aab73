"""``framescout export``: write a project's labelled images in the format a trainer reads."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.markup import escape

from framescout.cli._output import console, fail
from framescout.cli._store import open_store
from framescout.cli.projects import split_ref
from framescout.cli.serve import DATA_DIR_HELP
from framescout.export import FORMATS, ExportError, export, split_off_val
from framescout.export.from_store import dataset_from_project
from framescout.export.versions import load_version
from framescout.store import StoreError


def export_command(
    ref: str = typer.Argument(..., metavar="WORKSPACE/PROJECT"),
    fmt: str = typer.Option(..., "--format", help=f"One of {', '.join(FORMATS)}."),
    out: Path = typer.Option(..., help="A new (or empty) folder to write."),
    include_unlabelled: bool | None = typer.Option(
        None, help="Also export images without ground truth (default: only for labelstudio, as tasks)."
    ),
    ratios: str = typer.Option("0.8,0.1,0.1", help="train,valid,test shares for images that have no split."),
    seed: int = typer.Option(0, help="Seed of the split assignment (and of --val-fraction)."),
    val_fraction: float | None = typer.Option(
        None,
        "--val-fraction",
        help="When the export has no valid images, move this share (0-1) of the training images to "
        "valid (chosen by content hash and --seed: the same every time).",
    ),
    version: str | None = typer.Option(
        None, help="Export this frozen dataset version instead of the live project."
    ),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Export labelled images with their boxes and splits (works with the server stopped or running)."""
    workspace, project = split_ref(ref)
    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    try:
        shares = [float(x) for x in ratios.split(",")]
    except ValueError:
        fail(f"--ratios must be three numbers like 0.8,0.1,0.1; got {ratios!r}")
    if len(shares) != 3 or min(shares) < 0 or sum(shares) <= 0:
        fail(f"--ratios must be three non-negative numbers with a positive sum; got {ratios!r}")
    if val_fraction is not None and not 0.0 < val_fraction < 1.0:
        fail(f"--val-fraction must be above 0 and below 1; got {val_fraction}")
    unlabelled = fmt == "labelstudio" if include_unlabelled is None else include_unlabelled
    store = open_store(data_dir)
    try:
        if version:
            dataset = load_version(store, workspace, project, version)
        else:
            dataset = dataset_from_project(
                store, workspace, project, include_unlabelled=unlabelled, ratios=shares, seed=seed
            )
        if not dataset.images:
            fail(
                f"{workspace}/{project} has no images with ground truth to export (see --include-unlabelled)"
            )
        had_valid = len(dataset.split("valid"))
        moved = 0
        if val_fraction is not None:
            dataset, moved = split_off_val(dataset, val_fraction, seed)
        written = export(dataset, out, fmt)
    except StoreError as exc:
        fail(exc.message)
    except (ExportError, ValueError) as exc:
        fail(str(exc))
    finally:
        store.close()
    splits = Counter(image.split for image in dataset.images)
    boxes = sum(len(image.boxes) for image in dataset.images)
    console.print(
        f"exported {len(dataset.images)} image(s), {boxes} box(es), "
        f"{len(dataset.classes)} class(es) as {fmt} "
        f"to {escape(str(written))} ({', '.join(f'{s} {n}' for s, n in sorted(splits.items()))})"
    )
    console.print(f"class ids: {escape(dataset.class_order or 'the project class list order')}")
    if moved:
        console.print(f"--val-fraction {val_fraction}: moved {moved} training image(s) to valid, seed {seed}")
    elif val_fraction is not None and had_valid:
        console.print(f"--val-fraction not applied: the export already has {had_valid} valid image(s)")
    if not splits.get("valid"):
        also = "; data.yaml's val points at the training images" if fmt == "yolo" else ""
        console.print(
            f"[yellow]warning:[/] no validation images (the valid split is empty){also}; "
            "--val-fraction 0.1 moves a share of the training images to valid"
        )
