"""``framescout migrate-store`` as an operator runs it, on a real PostgreSQL and a real SeaweedFS S3:
killed in the middle of its blobs it resumes without uploading a verified blob again; then a server on
the new store (an empty data directory, ``--database-url`` + ``--blob-url``) answers what the server on
the old data directory answers; and the command refuses a source at another schema revision, a
missing setting and an unsupported database (exit 1, one line, no traceback)."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

import services
from framescout.server.process import ServerProcess
from framescout.store.migrate_store import head_revision
from helpers import framescout
from populated import Populated, populate, set_revision

IMAGES = "/api/v1/projects/acme/cams/images"
BLOBS = re.compile(r"blobs: (\d+) referenced, (\d+) copied now .* (\d+) already verified")


def _migrate(source: Path, database_url: str, blob_url: str, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "framescout", "migrate-store", "--from", str(source)]
    args = ["--database-url", database_url, "--blob-url", blob_url, "--jobs", "1", "--quiet"]
    return subprocess.Popen(
        [*command, *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _journal_lines(source: Path) -> int:
    journals = list((source / "cache" / "migrate-store").glob("*.verified"))
    return sum(1 for j in journals for line in j.read_text().split("\n") if len(line) == 64)


def _kill_midway(process: subprocess.Popen[str], source: Path, after: int) -> int:
    """SIGKILL once ``after`` blobs are verified; how many were when it died."""
    deadline = time.monotonic() + 120
    while _journal_lines(source) < after and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    return _journal_lines(source)


def _answers(server: ServerProcess, key: str, populated: Populated) -> dict[str, object]:
    """The API results compared between the two servers."""
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
        listing = client.get(IMAGES, params={"limit": 1000})
        assert listing.status_code == 200, listing.text
        some = populated.image_ids[:4]
        reviewed = client.get(IMAGES, params={"status": "reviewed"}).json()
        return {
            "listing": listing.json(),
            "reviewed": reviewed,
            "images": [client.get(f"{IMAGES}/{i}").json() for i in some],
            "annotations": [client.get(f"{IMAGES}/{i}/annotations").json() for i in some],
            "files": [client.get(f"{IMAGES}/{i}/file").content for i in some],
            "reports": client.get("/api/v1/projects/acme/cams/reports").json(),
            "versions": client.get("/api/v1/projects/acme/cams/versions").json(),
        }


def _export(data_dir: Path, out: Path, env: dict[str, str]) -> dict[str, bytes]:
    args = [
        "acme/cams",
        "--version",
        "v1",
        "--format",
        "coco",
        "--out",
        str(out),
        "--data-dir",
        str(data_dir),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "framescout", "export", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_killed_midway_it_resumes_and_the_new_store_serves_the_same(
    tmp_path: Path, postgres: services.Postgres, seaweed: services.SeaweedS3
) -> None:
    source = populate(tmp_path / "embedded", images=120)
    bucket = f"moved-{secrets.token_hex(4)}"
    services.wait_until_writable(seaweed, bucket)
    database_url = postgres.database_url(f"moved_{secrets.token_hex(4)}")
    blob_url = f"s3://{bucket}/team"
    aws = seaweed.environment()

    first = _migrate(source.data_dir, database_url, blob_url, aws)
    verified = _kill_midway(first, source.data_dir, after=10)
    assert first.returncode == -signal.SIGKILL
    assert 10 <= verified < 121, "the kill must land in the middle of the blobs"

    second = _migrate(source.data_dir, database_url, blob_url, aws)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, out + err
    found = BLOBS.search(out)
    assert found, out
    referenced, copied, already = map(int, found.groups())
    assert referenced == 121 and already >= verified and copied + already == 121, out
    assert "verified" in out and "images" in out
    assert "1 registered model file(s) in the blob store (hosts fetch them on first use)" in out
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT COUNT(*) FROM images")) == 120
        assert conn.scalar(text("SELECT COUNT(DISTINCT sha256) FROM images")) == 120
    engine.dispose()

    new_env = {"FRAMESCOUT_DATABASE_URL": database_url, "FRAMESCOUT_BLOB_URL": blob_url, **aws}
    with ServerProcess(source.data_dir) as old:
        before = _answers(old, source.key, source)
        busy = _migrate(source.data_dir, database_url, blob_url, aws)
        assert busy.wait(60) == 1 and "stop it first" in busy.communicate()[1]
    with ServerProcess(tmp_path / "empty-host", env=new_env) as new:
        after = _answers(new, source.key, source)
    assert after == before
    assert len(after["listing"]["images"]) == 120  # type: ignore[index]
    exported = _export(tmp_path / "empty-host", tmp_path / "new-export", new_env)
    assert len(exported) > 120  # the images and the annotation file
    assert exported == _export(source.data_dir, tmp_path / "old-export", {})


@pytest.mark.slow
def test_the_command_refuses_what_it_cannot_migrate(tmp_path: Path) -> None:
    source = populate(tmp_path / "embedded", images=4)
    set_revision(source.data_dir, "0007")
    target = f"sqlite:///{tmp_path / 'new.db'}"
    done = framescout(
        "migrate-store", "--from", str(source.data_dir), "--database-url", target,
        "--blob-url", (tmp_path / "blobs").as_uri(),
    )  # fmt: skip
    assert done.returncode == 1
    assert "schema revision 0007" in done.stderr and "open it with this version first" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "new.db").exists()
    set_revision(source.data_dir, head_revision())
    missing = framescout("migrate-store", "--from", str(source.data_dir), "--database-url", target)
    assert missing.returncode == 1 and "--blob-url" in missing.stderr
    blobs = (tmp_path / "blobs").as_uri()
    for url, says in [
        ("mysql://u:p@127.0.0.1:1/x", "copies into PostgreSQL or SQLite, not mysql"),
        ("not a url", "'not a url' is not a database URL"),
    ]:
        refused = framescout(
            "migrate-store", "--from", str(source.data_dir), "--database-url", url, "--blob-url", blobs
        )
        assert refused.returncode == 1 and says in refused.stderr and "Traceback" not in refused.stderr
