"""Shared fixtures: where ../shared is, and skips with a clear reason when it is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
NANODET = SHARED / "models" / "nanodet-m" / "nanodet_m.onnx"
COCO_TINY = SHARED / "data" / "coco-tiny"


def require_shared(path: Path) -> Path:
    """Skip the calling test when a ../shared asset is missing (fresh clones do not have it)."""
    if not path.exists():
        pytest.skip(f"needs {path} (the ../shared data folder beside the project); not present here")
    return path


@pytest.fixture(scope="session")
def nanodet_path() -> Path:
    return require_shared(NANODET)


@pytest.fixture(scope="session")
def coco_tiny() -> Path:
    return require_shared(COCO_TINY)
