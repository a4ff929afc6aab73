"""Helpers shared by tests (importable because pyproject sets pytest's ``pythonpath`` to ``tests``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping


def framescout(
    *args: str, timeout: int = 300, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``framescout`` command line as a user would: a real process, output captured; ``env``
    adds to this process's environment (e.g. a backend's ``FRAMESCOUT_DATABASE_URL``)."""
    return subprocess.run(
        [sys.executable, "-m", "framescout", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
