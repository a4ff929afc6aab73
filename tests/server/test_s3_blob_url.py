"""``framescout serve --blob-url s3://...`` on a real SeaweedFS: uploads land in the bucket and are served
back byte-identical while the data directory holds no image bytes; admin commands take the same option;
a wrong endpoint, refused credentials or a bad URL stop ``serve`` with one line and exit 1."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import services
from framescout.imaging import sha256_hex
from framescout.server.process import ServerProcess, free_port
from framescout.store.s3_blobs import S3BlobStore
from helpers import framescout

pytestmark = pytest.mark.slow

BUCKET = "serve-tests"


@pytest.fixture
def s3(seaweed: services.SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> services.SeaweedS3:
    """The test S3 in this process's environment (so in the server's and the CLI's), bucket made."""
    services.wait_until_writable(seaweed, BUCKET)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    for name, value in seaweed.environment().items():
        monkeypatch.setenv(name, value)
    return seaweed


def _files_holding(root: Path, data: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.read_bytes() == data]


def test_serve_keeps_image_bytes_in_s3(
    s3: services.SeaweedS3, tmp_path: Path, make_jpeg: Callable[..., bytes]
) -> None:
    url = f"s3://{BUCKET}/{uuid.uuid4().hex[:8]}"
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, workers=2, args=("--blob-url", url))
    key = server.cli("keys", "create", "-w", "acme", "--blob-url", url).strip().splitlines()[-1]
    server.cli("projects", "create", "acme/yard", "--blob-url", url)
    image = make_jpeg(320, 240, seed=7)
    auth = {"Authorization": f"Bearer {key}"}
    with server, httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
        base = "/api/v1/projects/acme/yard/images"
        upload = client.post(base, files={"file": ("f.jpg", image, "image/jpeg")})
        assert upload.status_code == 201, upload.text
        image_id = upload.json()["id"]
        again = client.post(base, files={"file": ("g.jpg", image, "image/jpeg")})
        assert again.status_code in (200, 201) and again.json()["duplicate"] is True
        for _ in range(4):  # new connections: both workers serve it
            served = client.get(f"{base}/{image_id}/file", headers={"Connection": "close"})
            assert served.status_code == 200 and served.content == image
        thumb = client.get(f"{base}/{image_id}/thumbnail", params={"size": 64})
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert thumb.content.startswith(b"\xff\xd8")
    prefix = url.split("/", 3)[3]
    bucket = S3BlobStore.open(BUCKET, prefix)
    assert bucket.iter_hashes() == [sha256_hex(image)] and bucket.get(sha256_hex(image)) == image
    assert not (data_dir / "blobs").exists()
    assert _files_holding(data_dir, image) == []  # only the thumbnail cache and the database are local

    version = ("versions", "create", "acme/yard", "v1", "--include-unlabelled", "--blob-url", url)
    done = framescout(*version, "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    assert len(bucket.iter_hashes()) == 2  # the image and the version's manifest
    assert not (data_dir / "blobs").exists()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:{port}"},
            "cannot reach S3 for s3://serve-tests at AWS_ENDPOINT_URL=",
        ),
        ({"AWS_SECRET_ACCESS_KEY": "not-the-secret"}, "S3 refused the credentials for s3://serve-tests"),
        ({"FRAMESCOUT_BLOB_URL": "s3://no-such-bucket"}, "the bucket 'no-such-bucket' does not exist"),
        (
            {"FRAMESCOUT_BLOB_URL": "minio://serve-tests"},
            "FRAMESCOUT_BLOB_URL / --blob-url: unsupported blob URL",
        ),
    ],
)
def test_serve_refuses_a_blob_store_it_cannot_use(
    s3: services.SeaweedS3,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, str],
    says: str,
) -> None:
    monkeypatch.setenv("FRAMESCOUT_BLOB_URL", f"s3://{BUCKET}")
    for name, value in change.items():
        monkeypatch.setenv(name, value.format(port=free_port("127.0.0.1")))
    port = str(free_port("127.0.0.1"))
    done = framescout("serve", "--data-dir", str(tmp_path / "d"), "--port", port, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "d" / "framescout.db").exists()  # refused before anything was made


def test_admin_commands_take_the_blob_url_and_refuse_cleanly(s3: services.SeaweedS3, tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    bad = framescout("keys", "create", "-w", "acme", "--data-dir", data, "--blob-url", "s3://no-such-bucket")
    assert bad.returncode == 1 and "error: the bucket 'no-such-bucket' does not exist" in bad.stderr
    assert "Traceback" not in bad.stderr
    made = framescout("keys", "create", "-w", "acme", "--data-dir", data, "--blob-url", f"s3://{BUCKET}/k")
    assert made.returncode == 0, made.stderr
    # doctor checks an s3:// bucket now
    doctor = framescout("doctor", data, "--blob-url", f"s3://{BUCKET}/k")
    assert doctor.returncode == 0 and "healthy" in doctor.stdout, doctor.stdout + doctor.stderr
    assert "Traceback" not in doctor.stderr
