"""Run ``framescout serve`` as a child process on a free port (tests, benchmarks, notebooks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """A real server process over ``data_dir``; use as a context manager or call `start`/`stop`.

    ``env`` adds to (or overrides) this process's environment for the server, e.g. its
    ``FRAMESCOUT_*`` options (``FRAMESCOUT_FETCH_ALLOW``); ``args`` are more ``serve`` options (e.g.
    ``--blob-url``); ``cwd`` is the folder it is started from."""

    def __init__(
        self,
        data_dir: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        cwd: str | Path | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.env = dict(env or {})
        self.args = tuple(args)
        self.host = host
        self.port = port or free_port(host)
        self.workers = workers
        self.cwd = cwd
        self.url = f"http://{host}:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        """Run another ``framescout`` command against the same store (data directory and ``env``, which
        may name its database and blob store); return its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "framescout", *args, "--data-dir", str(self.data_dir)],
            env={**os.environ, **self.env},
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def create_key(self, workspace: str) -> str:
        return self.cli("keys", "create", "--workspace", workspace).strip().splitlines()[-1]

    def start(self, timeout: float = 90.0) -> ServerProcess:
        """Start ``framescout serve`` and wait for ``/healthz`` (a server that exits fails at once; the
        long wait is for loaded machines, where spawning several workers takes tens of seconds)."""
        command = [
            sys.executable, "-m", "framescout", "serve", "--data-dir", str(self.data_dir),
            "--host", self.host, "--port", str(self.port), "--workers", str(self.workers), *self.args,
        ]  # fmt: skip
        env = {**os.environ, **self.env}
        self._proc = subprocess.Popen(command, env=env, cwd=self.cwd, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"framescout serve exited with code {self._proc.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"framescout serve did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
