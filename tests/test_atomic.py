"""Whole-file writes: the target holds the old bytes or all of the new ones, and nothing is left over."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from framescout.atomic import write_file_atomically


def test_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "sheet.html"
    target.write_bytes(b"old")
    write_file_atomically(target, b"new page", prefix=".sheet.")
    assert target.read_bytes() == b"new page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sheet.html"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # mkstemp's mode unless shared


def test_shared_files_get_the_usual_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        write_file_atomically(tmp_path / "report.html", b"x", shared=True)
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o644


def test_a_failed_rename_keeps_the_old_target_and_removes_the_temporary_file(tmp_path: Path) -> None:
    spare = tmp_path / "tmp"
    spare.mkdir()
    target = tmp_path / "blob"
    target.mkdir()
    (target / "inside").write_bytes(b"kept")  # a non-empty folder cannot be replaced by a file
    with pytest.raises(OSError):
        write_file_atomically(target, b"data", tmp_dir=spare, suffix=".part", fsync=False)
    assert list(spare.iterdir()) == [] and (target / "inside").read_bytes() == b"kept"
