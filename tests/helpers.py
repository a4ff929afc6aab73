"""Helpers shared by tests (importable because pyproject sets pytest's ``pythonpath`` to ``tests``)."""

from __future__ import annotations

import subprocess
import sys


def framescout(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """Run the ``framescout`` command line as a user would: a real process, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "framescout", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
