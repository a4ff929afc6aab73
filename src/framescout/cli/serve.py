"""``framescout serve``: run the API server over a data directory (SQLite + blob store by default)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from framescout.cli._output import console, fail
from framescout.store.datadir import DATA_DIR_ENV, default_data_dir

DATA_DIR_HELP = f"Data directory (database, images, models). Default: ${DATA_DIR_ENV} or ./framescout-data."


def serve(
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(9001, help="Port (9001 is what Roboflow's local-server examples assume)."),
    workers: int | None = typer.Option(
        None,
        min=1,
        help="API worker processes. Default: one per CPU core, at most 4 (SQLite WAL serialises writes).",
    ),
    max_upload_mb: float = typer.Option(50.0, min=0.01, help="Largest accepted image, in MiB."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Start the framescout server."""
    import uvicorn

    from framescout.server.settings import Settings
    from framescout.store import Store

    root = (data_dir or default_data_dir()).expanduser().resolve()
    settings = Settings(data_dir=root, max_upload_bytes=int(max_upload_mb * 1024 * 1024))
    try:
        store = Store.open(root)  # creates the directory and applies migrations once, before workers start
    except Exception as exc:
        fail(f"cannot open the data directory {root}: {exc}")
    store.close()
    workers = workers or min(4, os.cpu_count() or 1)
    url = f"http://{host}:{port}"
    console.print(
        f"framescout serving {url}  (review UI {url}/ui/, API docs {url}/docs, "
        f"data {root}, {workers} worker(s))"
    )
    if store.created:
        console.print(
            "New data directory. Create an API key (then sign in to the review UI with it):\n"
            f"  framescout keys create --workspace my-team --data-dir {root}"
        )
    os.environ.update(settings.to_env())
    uvicorn.run(
        "framescout.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )
