"""``framescout projects``: create and list projects in the data directory."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from framescout.cli._output import console, fail
from framescout.cli._store import open_store
from framescout.cli.serve import DATA_DIR_HELP
from framescout.store import StoreError
from framescout.store.accounts import create_project, get_or_create_workspace, get_workspace, list_projects

app = typer.Typer(help="Manage projects.", no_args_is_help=True)


def split_ref(ref: str) -> tuple[str, str]:
    """``WORKSPACE/PROJECT`` → its two parts, or a clean CLI error."""
    parts = ref.strip("/").split("/")
    if len(parts) != 2 or not all(parts):
        fail(f"expected WORKSPACE/PROJECT; got {ref!r}")
    return parts[0], parts[1]


@app.command("create")
def create(
    ref: str = typer.Argument(..., metavar="WORKSPACE/PROJECT"),
    type_: str = typer.Option("object-detection", "--type", help="Project type."),
    classes: str = typer.Option("", help="Comma-separated class names (learnt from uploads when empty)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Create a project (the workspace is created if new)."""
    workspace, name = split_ref(ref)
    store = open_store(data_dir, create=True)
    try:
        with store.db.writing() as session:
            ws = get_or_create_workspace(session, workspace)
            project = create_project(session, ws, name, type_, classes.split(","))
            line = (
                f"created {ws.slug}/{project.slug} ({project.type}), classes: {project.classes or 'learnt'}"
            )
    except StoreError as exc:
        fail(exc.message)
    finally:
        store.close()
    console.print(line)


@app.command("list")
def list_(
    workspace: str = typer.Argument(...),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """List a workspace's projects."""
    store = open_store(data_dir)
    try:
        with store.db.reading() as session:
            projects = list_projects(session, get_workspace(session, workspace))
    except StoreError as exc:
        fail(exc.message)
    finally:
        store.close()
    table = Table("project", "type", "classes")
    for p in projects:
        table.add_row(p.slug, p.type, ", ".join(p.classes))
    console.print(table)
