"""CPU seconds spent per process group during a benchmark phase: the server (a ``framescout serve``
and its workers), PostgreSQL and SeaweedFS when the run started them, and this client process. On a
machine where all of them share the cores, ingest rate is bound by the sum, so the per-upload CPU of
each group says where a configuration's time goes. Uses psutil (the ``bench`` extra); without it the
figures are left out."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

try:
    import psutil
except ImportError:  # the figures are optional
    psutil = None


def _tree_seconds(roots: Iterable[Any], *, children: bool = True) -> float:
    total = 0.0
    for root in roots:
        try:
            for proc in [root, *(root.children(recursive=True) if children else [])]:
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.Error:  # a process that ended in between
            continue
    return total


class CpuMeter:
    """Snapshots of CPU seconds per group; `per_upload` gives milliseconds per upload between two."""

    def __init__(self, server_dirs: Iterable[Path], postgres_data: Path | None, weed_pid: int | None) -> None:
        self.available = psutil is not None
        self.server_dirs = [str(d) for d in server_dirs]
        self.postgres_data = postgres_data
        self.weed_pid = weed_pid

    def _groups(self) -> dict[str, list[Any]]:
        servers = [
            p
            for p in psutil.process_iter(["cmdline"])
            if "serve" in (p.info["cmdline"] or [])
            and any(d in arg for d in self.server_dirs for arg in p.info["cmdline"] or [])
        ]
        groups: dict[str, list[Any]] = {"server": servers}
        if self.postgres_data is not None and (self.postgres_data / "postmaster.pid").exists():
            pid = int((self.postgres_data / "postmaster.pid").read_text().split()[0])
            groups["postgres"] = [psutil.Process(pid)]
        if self.weed_pid is not None:
            groups["weed"] = [psutil.Process(self.weed_pid)]
        return groups

    def snapshot(self) -> dict[str, float]:
        if not self.available:
            return {}
        seconds = {name: _tree_seconds(procs) for name, procs in self._groups().items()}
        # this process alone: the servers and SeaweedFS are its children, counted above
        return seconds | {"client": _tree_seconds([psutil.Process()], children=False)}

    @staticmethod
    def per_upload(before: dict[str, float], after: dict[str, float], uploads: int) -> str:
        """``cpu ms/upload: server 3.1, postgres 0.8, weed 2.0, client 1.0 (sum 6.9)``, or ``""``."""
        if not before or not uploads:
            return ""
        parts = {k: (after.get(k, 0.0) - v) * 1000 / uploads for k, v in before.items()}
        shown = ", ".join(f"{k} {v:.1f}" for k, v in parts.items())
        return f"cpu ms/upload: {shown} (sum {sum(parts.values()):.1f})"
