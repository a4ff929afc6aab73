"""A real ``framescout serve`` over a chosen store (SQLite or PostgreSQL), set up as an operator would:
admin commands with the same environment, a key for workspace ``acme`` and project ``acme/cams``.
Used by the metrics, readiness and PostgreSQL smoke tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from framescout.server.process import ServerProcess

UPLOADS = "/api/v1/projects/acme/cams/images"


@dataclass
class Served:
    server: ServerProcess
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def upload(self, data: bytes, name: str = "frame.jpg") -> httpx.Response:
        """One upload on its own connection (so the kernel may hand it to any worker)."""
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            return client.post(UPLOADS, headers=self.auth, files={"file": (name, data, "image/jpeg")})


def admin(data_dir: Path, env: Mapping[str, str], *args: str) -> str:
    """A ``framescout`` admin command against ``data_dir`` with ``env`` added; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "framescout", *args, "--data-dir", str(data_dir)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"framescout {' '.join(args)} failed: {done.stderr[-2000:]}"
    return done.stdout


def prepare(data_dir: Path, env: Mapping[str, str] | None = None, *, workers: int = 1) -> Served:
    """Key and project made with the admin commands; the server is returned not yet started."""
    env = dict(env or {})
    key = admin(data_dir, env, "keys", "create", "--workspace", "acme").strip().splitlines()[-1]
    admin(data_dir, env, "projects", "create", "acme/cams")
    return Served(ServerProcess(data_dir, workers=workers, env=env), key)


def scrape(
    url: str, headers: Mapping[str, str] | None = None
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``GET /metrics`` parsed: ``(sample name, labels) -> value``."""
    response = httpx.get(f"{url}/metrics", headers=dict(headers or {}), timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
