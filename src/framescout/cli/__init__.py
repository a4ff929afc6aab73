"""The ``framescout`` command line (Typer + Rich)."""

from framescout.cli.app import app, main

__all__ = ["app", "main"]
