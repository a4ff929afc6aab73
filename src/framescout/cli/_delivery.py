"""What ``collect`` and ``spool push`` say at the end, and their exit codes (docs/collector.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape

from framescout.cli._output import console, fail
from framescout.collector import ConfigurationError, check_access

EXIT_DELIVERED = 0
"""Every kept frame is on the server (new or already there)."""
EXIT_ERROR = 1
"""Bad arguments, a wrong API key or project (checked before any frame), or another error."""
EXIT_LEFT_IN_SPOOL = 3
"""Frames are still in the spool, undelivered (server unreachable or upload paused); nothing is lost."""
EXIT_QUARANTINED = 4
"""Frames the server refused are in the spool's quarantine (wins over 3: it needs a person)."""


def preflight(server: str, api_key: str, project: str, spool: Path, timeout: float) -> bool:
    """Check the key and the project before anything is read or sent: exit 1 when the server says no;
    one line (and go on, offline-first) when it cannot be asked. ``True`` when the server confirmed."""
    try:
        note = check_access(server, api_key, project, timeout=timeout)
    except ValueError as exc:  # not 'workspace/project'
        fail(str(exc))
    except ConfigurationError as exc:
        answer = exc.answer
        if answer.status == 401:
            hint = "check --api-key (or FRAMESCOUT_API_KEY)"
        elif answer.status == 404:
            hint = f"check --project, or create it: framescout projects create {project}"
        else:
            hint = "check --server, --api-key and --project"
        fail(f"{server} refused {project}: {answer}; {hint}")
    if note:
        console.print(
            f"{escape(note)}; going on offline-first: kept frames wait in {escape(str(spool))} "
            "and upload when the server answers"
        )
    return note is None


def preflight_destinations(
    server: str, api_key: str, project: str, destinations: dict[str, list[str]], timeout: float
) -> None:
    """Check every project the rules route frames to (``destinations``: slug -> rule names) before any
    frame is read: exit 1 naming the rule and the project when the server says no, so no frame is ever
    kept for a project that is not there. A server that cannot be asked was already reported."""
    workspace = project.strip("/").split("/")[0]
    for slug, rules in sorted(destinations.items()):
        target = f"{workspace}/{slug}"
        try:
            check_access(server, api_key, target, timeout=timeout)
        except ConfigurationError as exc:
            which = ", ".join(rules)
            hint = f"create it (framescout projects create {target}) or change the rule's project"
            fail(
                f"rule {which} sends frames to project {target}, which {server} refused: {exc.answer}; {hint}"
            )


def report(spool_stats: dict[str, int], uploader: dict[str, Any] | None, spool: Path) -> int:
    """Say what is left undelivered and what to run next; return the exit code."""
    left, held = spool_stats["entries"], spool_stats["quarantined"]
    where = escape(str(spool))
    if uploader and uploader.get("paused_reason"):
        reason = uploader["paused_reason"]
        console.print(
            f"[yellow]upload paused[/]: the server answered {reason['status']} {escape(reason['code'])}: "
            f"{escape(reason['message'])}"
        )
    for project, answer in (uploader or {}).get("held", {}).items():
        console.print(
            f"[yellow]frames for project {escape(project)} are held[/] (a rule routes to it): the server "
            f"answered {answer['status']} {escape(answer['code'])}: {escape(answer['message'])}; create "
            "the project or change the rule, and they upload"
        )
    if left:
        console.print(
            f"[yellow]{left} frame(s) left in the spool[/] {where} (nothing lost); deliver them with "
            f"`framescout spool push --spool {where} --server ... --project ...` or the next collect"
        )
    if held:
        console.print(
            f"[yellow]{held} frame(s) quarantined[/] in {where}/quarantine (refused by the server); "
            f"see `framescout spool quarantine list --spool {where}`, then `retry` or `drop`"
        )
    if held:
        return EXIT_QUARANTINED
    return EXIT_LEFT_IN_SPOOL if left else EXIT_DELIVERED
