"""The package's public names: all importable, the heavy parts loaded only on first use."""

from __future__ import annotations

import subprocess
import sys


def test_public_api_is_lazy_and_complete() -> None:
    code = (
        "import sys, framescout as fs;"
        "assert 'onnxruntime' not in sys.modules and 'httpx' not in sys.modules;"
        "[getattr(fs, n) for n in fs.__all__]; print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr
