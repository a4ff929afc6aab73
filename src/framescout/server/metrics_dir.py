"""The directory where prometheus-client's multi-process mode keeps every worker's samples.

``framescout serve`` calls `prepare` before it starts uvicorn: the variable must be set before any
worker imports prometheus-client (it picks its storage at import), and the directory must start empty
(samples of an earlier run would be summed into this one). Kept apart from `framescout.server.metrics`
so that choosing the directory does not import prometheus-client in the parent process too early.

- ``PROMETHEUS_MULTIPROC_DIR`` set by the operator: that directory, created if missing, its ``*.db``
  sample files removed.
- Otherwise a fresh ``run-<pid>-…`` directory under ``DATA_DIR/cache/metrics`` (a temp directory when
  the data directory is not writable), removed by `cleanup` when the server stops; directories left by
  runs whose process is gone (killed) are removed too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True)
class MetricsDir:
    path: Path
    owned: bool
    """True when `prepare` created it (then `cleanup` removes it)."""

    def cleanup(self) -> None:
        if self.owned:
            shutil.rmtree(self.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _remove_stale(parent: Path) -> None:
    for old in parent.glob("run-*"):
        pid = old.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)


def prepare(data_dir: Path) -> MetricsDir:
    """Choose, empty and export (``os.environ``) the multi-process directory for this run."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob("*.db"):
            old.unlink(missing_ok=True)
        chosen = MetricsDir(path, owned=False)
    else:
        prefix = f"run-{os.getpid()}-"
        parent = data_dir / "cache" / "metrics"
        try:
            parent.mkdir(parents=True, exist_ok=True)
            _remove_stale(parent)
            path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        except OSError:
            path = Path(tempfile.mkdtemp(prefix=f"framescout-metrics-{prefix}"))
        chosen = MetricsDir(path, owned=True)
    os.environ[MULTIPROC_ENV] = str(chosen.path)
    return chosen
