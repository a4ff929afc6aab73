"""Whole-file writes a reader never sees half done: a temporary file on the same filesystem, renamed
over the target (the blob store, the contact sheet)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_file_atomically(
    path: Path,
    data: bytes,
    *,
    tmp_dir: Path | None = None,
    prefix: str | None = None,
    suffix: str = ".tmp",
    fsync: bool = True,
    shared: bool = False,
) -> None:
    """Write ``data`` to ``path`` through a temporary file in ``tmp_dir`` (default: next to ``path``;
    it must be on the same filesystem), fsynced before the rename when ``fsync``. ``shared`` gives the
    file the usual permissions (0666 less the umask) instead of the temporary file's 0600. The
    temporary file is removed when anything fails; ``path``'s folder must exist."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=tmp_dir or path.parent)
    try:
        if shared:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            if fsync:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
