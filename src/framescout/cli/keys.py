"""``framescout keys``: create API keys (works whether or not the server is running)."""

from __future__ import annotations

from pathlib import Path

import typer

from framescout.cli._output import console, fail
from framescout.cli.serve import DATA_DIR_HELP
from framescout.store import Store, StoreError, default_data_dir
from framescout.store.accounts import create_key, get_or_create_workspace

app = typer.Typer(help="Manage API keys (each key belongs to one workspace).", no_args_is_help=True)


@app.command("create")
def create(
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace name (created if new)."),
    name: str = typer.Option("", help="A label for the key."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Create a key and print it once; only its hash is stored."""
    store = Store.open(data_dir or default_data_dir())
    try:
        with store.db.writing() as session:
            ws = get_or_create_workspace(session, workspace)
            key = create_key(session, ws, name)
            slug = ws.slug
    except StoreError as exc:
        fail(exc.message)
    finally:
        store.close()
    console.print(f"API key for workspace [bold]{slug}[/] (shown once, store it now):", markup=True)
    print(key)
