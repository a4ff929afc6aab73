"""``framescout spool``: look at a spool and push it to a server later (offline devices)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from framescout.cli._output import console, fail
from framescout.collector import Counters, HttpTransport, Spool, Uploader

app = typer.Typer(help="Inspect a collector spool and upload what it holds.", no_args_is_help=True)


def _open(folder: Path) -> Spool:
    if not (folder / "spool.db").exists():
        fail(f"{folder} is not a framescout spool (no spool.db)")
    return Spool(folder)


@app.command("status")
def status(spool: Path = typer.Option(Path("framescout-spool"), help="Spool folder.")) -> None:
    """How many frames wait, how big, per rule."""
    store = _open(spool)
    stats = store.stats()
    rules = Counter(entry.rule for entry in store.due(limit=10**9, now=float("inf")))
    console.print(f"{stats['entries']} frame(s), {stats['bytes'] / 1e6:.1f} MB in {escape(str(spool))}")
    for rule, count in rules.most_common():
        console.print(f"  {escape(rule)}: {count}")


@app.command("push")
def push(
    server: str = typer.Option(..., envvar="FRAMESCOUT_SERVER", help="Server URL."),
    api_key: str = typer.Option(..., envvar="FRAMESCOUT_API_KEY", help="API key."),
    project: str = typer.Option(..., help="WORKSPACE/PROJECT to upload to."),
    spool: Path = typer.Option(Path("framescout-spool"), help="Spool folder."),
    timeout: float = typer.Option(
        300.0, help="Give up after this many seconds (what is left stays spooled)."
    ),
) -> None:
    """Upload every spooled frame; each is deleted only once the server confirmed it."""
    store = _open(spool)
    total = len(store)
    if not total:
        console.print("the spool is empty")
        return
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
    left = len(store)
    rules = counters.snapshot()["rules"]
    sent = sum(r["uploaded"] for r in rules.values())
    duplicates = sum(r["duplicates"] for r in rules.values())
    refused = sum(sum(r["dropped"].values()) for r in rules.values())
    console.print(
        f"uploaded {sent} new, {duplicates} already there, {refused} refused; {left} left in the spool"
    )
    if left:
        fail(
            f"{left} frame(s) could not be delivered in {timeout:g} s "
            f"({uploader.last_error}); run again later"
        )
