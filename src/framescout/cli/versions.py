"""``framescout versions``: freeze a project into a named dataset version, and list versions."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from framescout.cli._output import console, fail
from framescout.cli._store import open_store
from framescout.cli.projects import split_ref
from framescout.cli.serve import DATA_DIR_HELP
from framescout.export.versions import create_version, list_versions
from framescout.store import StoreError

app = typer.Typer(help="Frozen dataset versions for reproducible retraining.", no_args_is_help=True)


@app.command("create")
def create(
    ref: str = typer.Argument(..., metavar="WORKSPACE/PROJECT"),
    name: str = typer.Argument(..., help="Version name, e.g. v3 or 2026-11-retrain."),
    include_unlabelled: bool = typer.Option(False, help="Also freeze images without ground truth."),
    seed: int = typer.Option(0, help="Seed of the split assignment for images without one."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Snapshot the project's images, boxes and splits as they are now."""
    workspace, project = split_ref(ref)
    store = open_store(data_dir)
    try:
        version = create_version(
            store, workspace, project, name, include_unlabelled=include_unlabelled, seed=seed
        )
    except StoreError as exc:
        fail(exc.message)
    finally:
        store.close()
    console.print(
        f"created version {escape(version.name)} of {escape(ref)}: "
        f"{version.images} image(s), {version.boxes} box(es); export it with: "
        f"framescout export {escape(ref)} --version {escape(version.name)} --format coco --out DIR"
    )


@app.command("list")
def list_command(
    ref: str = typer.Argument(..., metavar="WORKSPACE/PROJECT"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """The project's dataset versions, oldest first."""
    workspace, project = split_ref(ref)
    store = open_store(data_dir)
    try:
        versions = list_versions(store, workspace, project)
    except StoreError as exc:
        fail(exc.message)
    finally:
        store.close()
    table = Table("version", "images", "boxes", "created (UTC)")
    for v in versions:
        table.add_row(escape(v.name), str(v.images), str(v.boxes), v.created_at.strftime("%Y-%m-%d %H:%M"))
    console.print(table)
