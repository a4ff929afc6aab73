"""Shared console helpers: one Rich console, and clean exits with a message instead of a traceback."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console(highlight=False, soft_wrap=True)  # long paths stay on one line in logs
errors = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr and exit non-zero; the message is plain text (brackets such as
    ``framescout[s3]`` are printed, not read as Rich markup)."""
    errors.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    raise typer.Exit(code)
