"""``framescout serve``: run the API server over a data directory (SQLite + blob store by default)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import FrameType

import typer

from framescout.cli._output import console, errors, fail
from framescout.cli._port import port_problem
from framescout.store.accounts import MAX_CLASSES_PER_PROJECT, MAX_NEW_CLASSES_PER_REQUEST
from framescout.store.locate import DATA_DIR_ENV, choose_for_serve, forget_server, record_server

# The defaults of framescout.server.settings, not imported: importing the server package costs ~0.3 s
# for every CLI command (tests/server/test_fetch.py checks they agree).
FETCH_TIMEOUT = 10.0
FETCH_CONCURRENCY = 16

DATA_DIR_HELP = (
    f"Data directory (database, images, models). Default: ${DATA_DIR_ENV}, else the running server's, "
    "else ./framescout-data if this folder has one, else ~/.local/share/framescout."
)
SERVE_DATA_DIR_HELP = (
    f"Data directory (database, images, models). Default: ${DATA_DIR_ENV}, else ./framescout-data if this "
    "folder has one, else ~/.local/share/framescout ($XDG_DATA_HOME/framescout)."
)


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    """uvicorn re-raises the SIGTERM it handled once it has shut down; exiting through Python (not by the
    default action) lets ``serve`` remove its state file."""
    raise SystemExit(128 + signum)


def serve(
    data_dir: Path | None = typer.Option(None, "--data-dir", help=SERVE_DATA_DIR_HELP),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(
        9001, min=1, max=65535, help="Port (9001 is what Roboflow's local-server examples assume)."
    ),
    workers: int | None = typer.Option(
        None,
        min=1,
        help="API worker processes. Default: one per CPU core, at most 4 (SQLite WAL serialises writes).",
    ),
    max_upload_mb: float = typer.Option(50.0, min=0.01, help="Largest accepted image, in MiB."),
    fetch_allow: str = typer.Option(
        "",
        envvar="FRAMESCOUT_FETCH_ALLOW",
        help="Comma-separated CIDRs and/or host names that server-side URL fetches may reach although "
        "they are loopback, private, link-local, ... (refused by default), e.g. 10.0.0.0/8,images.lan.",
    ),
    fetch_timeout: float = typer.Option(
        FETCH_TIMEOUT,
        min=0.1,
        envvar="FRAMESCOUT_FETCH_TIMEOUT",
        help="Total deadline of one server-side URL fetch in seconds (whole request, waiting included).",
    ),
    fetch_concurrency: int = typer.Option(
        FETCH_CONCURRENCY,
        min=1,
        envvar="FRAMESCOUT_FETCH_CONCURRENCY",
        help="URL fetches in flight per worker process; more wait, within their deadline.",
    ),
    max_classes: int = typer.Option(
        MAX_CLASSES_PER_PROJECT, min=1, envvar="FRAMESCOUT_MAX_CLASSES", help="Classes a project may learn."
    ),
    max_new_classes: int = typer.Option(
        MAX_NEW_CLASSES_PER_REQUEST,
        min=1,
        envvar="FRAMESCOUT_MAX_NEW_CLASSES",
        help="New classes one request may teach a project.",
    ),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Start the framescout server.

    While it runs, admin commands (keys, projects, models, versions, export, doctor) started from any
    folder use its data directory (docs/server.md, "Which data directory")."""
    import uvicorn

    from framescout.server.metrics_dir import prepare as prepare_metrics_dir
    from framescout.server.settings import Settings, split_list
    from framescout.store import Store
    from framescout.store.blob_url import BlobStoreUnavailable

    choice = choose_for_serve(data_dir)
    root = choice.path
    try:
        settings = Settings(
            data_dir=root,
            max_upload_bytes=int(max_upload_mb * 1024 * 1024),
            fetch_timeout=fetch_timeout,
            fetch_concurrency=fetch_concurrency,
            fetch_allow=split_list(fetch_allow),
            max_classes=max_classes,
            max_new_classes=max_new_classes,
        )
    except ValueError as exc:  # a FRAMESCOUT_LABEL_ASSIST* variable that is not a valid value
        fail(str(exc))
    try:
        settings.fetch_policy  # noqa: B018  # validates the allow-list before any worker starts
    except ValueError as exc:
        fail(f"--fetch-allow: {exc}")
    problem = port_problem(host, port)  # before the banner and before the data directory is created
    if problem:
        fail(problem)
    try:
        store = Store.open(root)  # creates the directory and applies migrations once, before workers start
    except BlobStoreUnavailable as exc:  # FRAMESCOUT_BLOB_URL / --blob-url (cli/_store.py)
        fail(str(exc))
    except Exception as exc:
        fail(f"cannot open the data directory {root}: {exc}")
    store.close()
    workers = workers or min(4, os.cpu_count() or 1)
    url = f"http://{host}:{port}"
    console.print(
        f"framescout serving {url}  (review UI {url}/ui/, API docs {url}/docs, "
        f"data {choice.describe()}, {workers} worker(s))"
    )
    if store.created:
        console.print(
            "New data directory. Create an API key (then sign in to the review UI with it), "
            "from any folder:\n"
            "  framescout keys create --workspace my-team"
        )
    try:
        state_file: Path | None = record_server(root, url)
    except OSError as exc:
        state_file = None
        errors.print(
            f"warning: cannot record this server for the admin commands ({exc}); pass them --data-dir {root}",
            markup=False,
            soft_wrap=True,
        )
    os.environ.update(settings.to_env())
    metrics_dir = prepare_metrics_dir(root)  # before any worker imports prometheus-client
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(
            "framescout.server.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
        )
    finally:
        metrics_dir.cleanup()
        if state_file is not None:
            forget_server(state_file)
