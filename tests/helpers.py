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


def jpeg(seed: int) -> bytes:
    """A small JPEG whose bytes differ with ``seed`` (distinct blobs for store tests)."""
    import io

    from PIL import Image

    image = Image.new("RGB", (40, 30), (seed * 40 % 256, 90, 200))
    image.putpixel((seed % 40, 1), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


NIGHT_RULES = """\
# night cameras
rules:
  - name: low
    type: confidence
    below: 0.4
    limits: {per_minute: 10}
"""
"""A small valid rules file with a comment (kept when pushed as YAML): server-held rules tests."""
