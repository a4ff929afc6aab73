"""``framescout keys``: create, list and revoke API keys (works whether or not the server is running)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Column, Table

from framescout.cli._output import console, errors, fail
from framescout.cli._store import open_store
from framescout.cli.serve import DATA_DIR_HELP
from framescout.store import StoreError
from framescout.store.accounts import (
    create_key,
    get_or_create_workspace,
    get_workspace,
    list_keys,
    revoke_key,
)

app = typer.Typer(help="Manage API keys (each key belongs to one workspace).", no_args_is_help=True)


def _when(value: object) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


@app.command("create")
def create(
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace name (created if new)."),
    name: str = typer.Option("", help="A label for the key."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Create a key and print it once; only its hash is stored."""
    store = open_store(data_dir, create=True)
    try:
        with store.db.writing() as session:
            ws = get_or_create_workspace(session, workspace)
            key = create_key(session, ws, name)
            slug = ws.slug
    except StoreError as exc:
        fail(exc.message)
    finally:
        store.close()
    # the banner on stderr, the key alone on stdout: `export KEY=$(framescout keys create -w acme)` works
    errors.print(f"API key for workspace [bold]{slug}[/] (shown once, store it now):", markup=True)
    print(key)


@app.command("list")
def list_(
    workspace: str | None = typer.Option(None, "--workspace", "-w", help="Only this workspace's keys."),
    as_json: bool = typer.Option(False, "--json", help="Print the keys as JSON (for scripts)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """List keys: id, prefix, name, workspace, created, revoked (never the keys themselves)."""
    store = open_store(data_dir)
    try:
        with store.db.reading() as session:
            ws = get_workspace(session, workspace) if workspace else None
            rows = [
                {
                    "id": k.id,
                    "prefix": k.prefix,
                    "name": k.name,
                    "workspace": k.workspace.slug,
                    "created_at": _when(k.created_at),
                    "revoked_at": _when(k.revoked_at) or None,
                }
                for k in list_keys(session, ws)
            ]
    except StoreError as exc:
        fail(exc.message)
    finally:
        store.close()
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(
        Column("id", no_wrap=True, min_width=16),
        Column("prefix", no_wrap=True),
        "name",
        "workspace",
        "created (UTC)",
        "revoked (UTC)",
    )
    for r in rows:
        table.add_row(r["id"], f"{r['prefix']}…", r["name"], r["workspace"], r["created_at"], r["revoked_at"])
    console.print(table)
    active = sum(1 for r in rows if not r["revoked_at"])
    console.print(f"{len(rows)} keys, {active} active, {len(rows) - active} revoked")


@app.command("revoke")
def revoke(
    key_id: str = typer.Argument(..., metavar="KEY_ID", help="The key's id, as `keys list` shows it."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Revoke a key: every server worker refuses it within a second and its browser sessions end.

    The row is kept (listed as revoked); revoking twice is harmless."""
    store = open_store(data_dir)
    try:
        with store.db.writing() as session:
            row = revoke_key(session, key_id.strip())
            when = _when(row.revoked_at)
            line = f"revoked key {row.id} ({row.prefix}…, workspace {row.workspace.slug}) at {when} UTC"
    except StoreError as exc:
        fail(exc.message)
    finally:
        store.close()
    console.print(line)
