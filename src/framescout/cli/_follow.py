"""``collect`` with a server and no ``--rules``: start from the project's server-held rules and keep
following them (`framescout.collector.RulesSync`); the one line it says about where they came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape

from framescout.cli._output import console, fail
from framescout.collector import RulesError, RulesSync
from framescout.sampling.config import SamplingConfig


def follow_rules(
    server: str, api_key: str, project: str, cache_dir: Path, interval: float, timeout: float
) -> tuple[SamplingConfig | None, RulesSync]:
    """The configuration to start with (``None``: the project has none yet, the built-in stack) and
    the sync that keeps it current; exit 1 when the server refuses or no version can be had."""
    try:
        sync = RulesSync(server, api_key, project, cache_dir=cache_dir, interval=interval, timeout=timeout)
    except ValueError as exc:
        fail(str(exc))
    try:
        boot = sync.boot()
    except RulesError as exc:
        sync.stop()
        fail(str(exc))
    if boot.note:
        console.print(f"[yellow]rules[/]: {escape(boot.note)}")
    if boot.rules is not None:
        console.print(
            f"rules: {project}'s server version {boot.rules.etag[:12]} ({boot.source}), "
            f"checked every {interval:g} s; --rules FILE overrides"
        )
    return (boot.rules.config if boot.rules else None), sync


def rules_summary(status: dict[str, Any]) -> list[str]:
    """The closing lines about the server's rules: the version in force, and each version ignored."""
    sync = status.get("rules_sync")
    if not sync:
        return []
    etag = status.get("rules_etag")
    lines = [f"rules: {f'server version {etag[:12]}' if etag else 'the built-in stack'} in force at the end"]
    lines += [f"  ignored server version {bad[:12]}: {why}" for bad, why in sync["rejected"].items()]
    return lines
