"""The version is written once (pyproject.toml): the package, the CLI and the server all report it."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import framescout

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_the_installed_metadata_and_pyproject_alone_writes_it() -> None:
    installed = importlib.metadata.version("framescout")
    assert framescout.__version__ == installed
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert declared == installed
    assert f'"{installed}"' not in (ROOT / "src" / "framescout" / "__init__.py").read_text()


def test_framescout_version_prints_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "framescout", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"framescout {importlib.metadata.version('framescout')}"
