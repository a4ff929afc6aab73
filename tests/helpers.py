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


def jpeg(seed: int) -> bytes:
    """A small JPEG whose bytes differ with ``seed`` (distinct blobs for store tests)."""
    import io

    from PIL import Image

    image = Image.new("RGB", (40, 30), (seed * 40 % 256, 90, 200))
    image.putpixel((seed % 40, 1), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()
