"""The multi-process metrics directory ``serve`` prepares: fresh per run, stale runs removed, an
operator's own directory emptied of sample files (and nothing else), exported for the workers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from framescout.server.metrics_dir import MULTIPROC_ENV, prepare


@pytest.fixture(autouse=True)
def _restore_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)  # prepare() sets it; monkeypatch restores it


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_fresh_run_directory_under_the_cache_replaces_those_of_dead_runs(tmp_path: Path) -> None:
    parent = tmp_path / "data" / "cache" / "metrics"
    stale, live = parent / f"run-{_dead_pid()}-old", parent / f"run-{os.getppid()}-other"
    for folder in (stale, live):
        folder.mkdir(parents=True)
        (folder / "counter_1.db").write_bytes(b"old samples")
    chosen = prepare(tmp_path / "data")
    assert (
        chosen.owned and chosen.path.parent == parent and chosen.path.name.startswith(f"run-{os.getpid()}-")
    )
    assert list(chosen.path.iterdir()) == []
    assert os.environ[MULTIPROC_ENV] == str(chosen.path)
    assert not stale.exists() and live.exists(), "only runs whose process is gone are removed"
    chosen.cleanup()
    assert not chosen.path.exists()


def test_an_operators_directory_is_used_and_only_its_sample_files_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = tmp_path / "tmpfs" / "prom"
    given.mkdir(parents=True)
    (given / "histogram_123.db").write_bytes(b"old")
    (given / "README").write_text("mine")
    monkeypatch.setenv(MULTIPROC_ENV, str(given))
    chosen = prepare(tmp_path / "data")
    assert chosen.path == given and not chosen.owned
    assert [p.name for p in given.iterdir()] == ["README"]
    chosen.cleanup()
    assert given.is_dir(), "an operator's directory is never removed"
    assert not (tmp_path / "data" / "cache").exists()
