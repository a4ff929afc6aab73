"""The native libraries the core loads can be imported together, in either order: usearch 2.26.2-2.26.6
crash the interpreter (SIGSEGV) when onnxruntime is imported after them, which is why pyproject.toml
keeps usearch below 2.26.2. A fresh interpreter per order, since a crash would take pytest with it."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "first, second", [("usearch.index", "onnxruntime"), ("onnxruntime", "usearch.index")]
)
def test_usearch_and_onnxruntime_import_in_either_order(first: str, second: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {first}, {second}, cv2"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (
        f"importing {first} then {second} exited {done.returncode}: {done.stderr[-500:]}"
    )
