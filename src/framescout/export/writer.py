"""Atomic export: everything is written to a temporary folder beside the target, then renamed into
place, so an interrupted export never leaves a half-written dataset where a trainer would read it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from framescout.export.dataset import ExportDataset


class ExportError(ValueError):
    """An export that cannot be written (target exists, bad dataset)."""


def write_atomically(out: Path, dataset: ExportDataset, write: Callable[[Path, ExportDataset], None]) -> Path:
    """Run ``write(tmp_dir, dataset)`` and move the result to ``out`` (which must not exist or be empty)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} already exists and is not an empty folder; choose a new --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        write(tmp, dataset)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
