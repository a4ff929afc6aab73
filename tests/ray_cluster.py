"""A real Ray head for the tests: ``ray start --head --block`` on free loopback ports in a temp dir.

Every port Ray opens is chosen free (two Ray clusters on one machine must not meet), the dashboard is
off, and the head runs in its own process group, stopped with it: never ``ray stop``, which would stop
every Ray on the machine. Without Ray installed (the ``ray`` extra, in dev), the tests that need it skip,
or fail under ``FRAMESCOUT_REQUIRE_INFRA=1`` like the other services.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from services import _wait_for_port, free_ports, unavailable

# Ray binds a Linux node to the machine's routable address; on this variable's 0 it takes the loopback
# one, as on a laptop (tests reach only 127.0.0.1). The driver (tests, the CLI they run) sets it too.
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


@dataclass
class RayHead:
    """A running single-node Ray cluster; ``address`` is what ``--ray`` takes."""

    process: subprocess.Popen[bytes]
    address: str
    root: Path
    cpus: int
    environment: dict[str, str]  # what a driver process needs to connect (loopback, the token)

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)  # the head and the processes it started
            self.process.wait(timeout=10)  # Ray drains up to 30 s on SIGTERM: no need here
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def start_ray_head(cpus: int = 2) -> RayHead:
    """``ray start --head`` with ``cpus`` CPUs; waits until its GCS port answers."""
    ray = Path(sys.executable).parent / "ray"
    if not ray.exists():
        unavailable("Ray is not installed (the `ray` extra, in dev: pip install 'framescout[ray]')")
    root = Path(tempfile.mkdtemp(prefix="fs-ray-"))  # short: Ray's socket paths must fit 107 bytes
    gcs, node, objects, agent, agent_grpc, env_agent, metrics = free_ports(7)
    args = [
        str(ray),
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={gcs}",
        f"--node-manager-port={node}",
        f"--object-manager-port={objects}",
        f"--dashboard-agent-listen-port={agent}",
        f"--dashboard-agent-grpc-port={agent_grpc}",
        f"--runtime-env-agent-port={env_agent}",
        f"--metrics-export-port={metrics}",
        f"--num-cpus={cpus}",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={root}",
    ]
    token = secrets.token_hex(32)  # Ray's token authentication, with a token of this cluster's own
    env = {**os.environ, **LOOPBACK, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    env.pop("RAY_ADDRESS", None)
    log = (root / "head.log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    head = RayHead(
        process,
        f"127.0.0.1:{gcs}",
        root,
        cpus,
        {**LOOPBACK, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token},
    )
    if not _wait_for_port(gcs, 120, process):
        tail = (root / "head.log").read_text(errors="replace")[-800:]
        head.stop()
        unavailable(f"the Ray head did not start within 120 s: {tail}")
    return head
