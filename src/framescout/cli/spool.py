"""``framescout spool``: look at a spool, push it to a server later (offline devices), and deal with
the frames the server refused (``spool quarantine list|retry|drop``)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from framescout.cli._delivery import preflight, report
from framescout.cli._output import console, fail
from framescout.collector import Counters, HttpTransport, Spool, Uploader

app = typer.Typer(help="Inspect a collector spool and upload what it holds.", no_args_is_help=True)
quarantine_app = typer.Typer(
    help="Frames the server refused (413, 415, 422, ...), each kept with the server's reason.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")

SPOOL_OPTION = typer.Option(Path("framescout-spool"), help="Spool folder.")


def _open(folder: Path) -> Spool:
    if not (folder / "spool.db").exists():
        fail(f"{folder} is not a framescout spool (no spool.db)")
    return Spool(folder)


@app.command("status")
def status(spool: Path = SPOOL_OPTION) -> None:
    """How many frames wait, how big, per rule; and how many are quarantined."""
    store = _open(spool)
    stats = store.stats()
    rules = Counter(entry.rule for entry in store.due(limit=10**9, now=float("inf")))
    console.print(f"{stats['entries']} frame(s), {stats['bytes'] / 1e6:.1f} MB in {escape(str(spool))}")
    for rule, count in rules.most_common():
        console.print(f"  {escape(rule)}: {count}")
    if stats["quarantined"]:
        console.print(
            f"{stats['quarantined']} quarantined frame(s), {stats['quarantined_bytes'] / 1e6:.1f} MB "
            f"(`framescout spool quarantine list --spool {escape(str(spool))}`)"
        )


def _push(store: Spool, spool: Path, server: str, api_key: str, project: str, timeout: float) -> int:
    """Upload every queued frame (each deleted only once the server confirmed it); the exit code."""
    total = len(store)
    if not total:
        console.print("the spool is empty")
        return report(store.stats(), None, spool)
    preflight(server, api_key, project, spool, timeout=10.0)
    counters = Counters()
    uploader = Uploader(store, HttpTransport(server, api_key, project), counters, max_delay=10.0)
    for entry in store.due(limit=10**9, now=float("inf")):
        store.retry_later(entry.id, 0.0)  # due now, whatever backoff an earlier run left
    uploader.start()
    deadline = time.monotonic() + timeout
    columns = (TextColumn("uploading"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("push", total=total)
        while len(store) and time.monotonic() < deadline:
            progress.update(task, completed=total - len(store))
            time.sleep(0.1)
    uploader.stop()
    uploader.transport.close()
    rules = counters.snapshot()["rules"].values()
    sent = sum(r["uploaded"] for r in rules)
    duplicates = sum(r["duplicates"] for r in rules)
    quarantined = sum(r["quarantined"] for r in rules)
    console.print(
        f"uploaded {sent} new, {duplicates} already on the server (duplicates), {quarantined} quarantined; "
        f"{len(store)} left in the spool"
    )
    if len(store) and uploader.last_error:
        console.print(f"last error: {escape(uploader.last_error)}")
    return report(store.stats(), uploader.status(), spool)


@app.command("push")
def push(
    server: str = typer.Option(..., envvar="FRAMESCOUT_SERVER", help="Server URL."),
    api_key: str = typer.Option(..., envvar="FRAMESCOUT_API_KEY", help="API key."),
    project: str = typer.Option(..., help="WORKSPACE/PROJECT to upload to."),
    spool: Path = SPOOL_OPTION,
    timeout: float = typer.Option(
        300.0, help="Give up after this many seconds (what is left stays spooled)."
    ),
) -> None:
    """Upload every spooled frame; each is deleted only once the server confirmed it.

    Exit codes: 0 everything delivered; 1 error (wrong key or project: nothing sent); 3 frames left
    in the spool; 4 frames quarantined (refused by the server).
    """
    raise typer.Exit(_push(_open(spool), spool, server, api_key, project, timeout))


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _resolve(store: Spool, ids: list[str]) -> list[str]:
    """Full ids for the given ids or unique prefixes (as `list` shows them); exit 1 on any unknown."""
    known = [q.id for q in store.quarantined()]
    chosen: list[str] = []
    for wanted in ids:
        matches = [k for k in known if k.startswith(wanted.lower())]
        if len(matches) != 1:
            problem = "no quarantined frame" if not matches else f"{len(matches)} quarantined frames"
            fail(f"{problem} matches {wanted!r} (see `framescout spool quarantine list`)")
        chosen.append(matches[0])
    return chosen


@quarantine_app.command("list")
def quarantine_list(spool: Path = SPOOL_OPTION) -> None:
    """Every quarantined frame, one a line: id, rule, name, when (UTC), the server's status and reason."""
    held = _open(spool).quarantined()
    if not held:
        console.print(f"no quarantined frames in {escape(str(spool))}")
        return
    # One line per frame (greppable, never wrapped): id prefix (what retry/drop take), rule, name,
    # when (UTC), then the server's status, code and message.
    for frame in held:
        name = frame.record.name or "-"
        console.print(
            f"{frame.id[:12]}  {escape(frame.rule)}  {escape(str(name))}  {_when(frame.quarantined_at)}  "
            f"{frame.status} {escape(frame.code)}: {escape(frame.message)}",
            soft_wrap=True,
        )
    console.print(f"{len(held)} quarantined frame(s)")


@quarantine_app.command("retry")
def quarantine_retry(
    ids: list[str] = typer.Argument(None, help="Frame ids (or unique prefixes); default: all."),
    spool: Path = SPOOL_OPTION,
    server: str | None = typer.Option(
        None, envvar="FRAMESCOUT_SERVER", help="Upload them now to this server (else: queue them)."
    ),
    api_key: str | None = typer.Option(None, envvar="FRAMESCOUT_API_KEY", help="API key for --server."),
    project: str | None = typer.Option(None, help="WORKSPACE/PROJECT to upload to."),
    timeout: float = typer.Option(300.0, help="With --server: give up uploading after this many seconds."),
) -> None:
    """Move quarantined frames back into the queue (after fixing what the server refused), and with
    --server upload the queue at once, like `spool push` (same exit codes)."""
    if server and not (api_key and project):
        fail("--server needs --api-key and --project WORKSPACE/PROJECT")
    store = _open(spool)
    chosen = _resolve(store, ids) if ids else None
    moved = store.restore(chosen)
    console.print(f"moved {moved} quarantined frame(s) back into the queue")
    if server and api_key and project:
        raise typer.Exit(_push(store, spool, server, api_key, project, timeout))
    console.print(f"upload them with `framescout spool push --spool {escape(str(spool))} ...`")


@quarantine_app.command("drop")
def quarantine_drop(
    ids: list[str] = typer.Argument(None, help="Frame ids (or unique prefixes)."),
    all_: bool = typer.Option(False, "--all", help="Drop every quarantined frame."),
    spool: Path = SPOOL_OPTION,
) -> None:
    """Delete quarantined frames for good (the given ids, or --all); says how many."""
    if not ids and not all_:
        fail("name the frames to drop (ids from `framescout spool quarantine list`), or pass --all")
    store = _open(spool)
    chosen = None if all_ else _resolve(store, ids)
    dropped = store.drop_quarantined(chosen)
    left = store.stats()["quarantined"]
    console.print(f"dropped {dropped} quarantined frame(s); {left} left in the quarantine")
