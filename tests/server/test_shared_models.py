"""With a shared database and an ``s3://`` blob store, a model registered from one host is served by
another whose data directory has never seen it: the file is fetched from the bucket once, hash-checked,
and cached in that host's ``models/``."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import httpx
import pytest

import services
from framescout.imaging import sha256_hex
from framescout.server.process import ServerProcess
from framescout.store.s3_blobs import S3BlobStore
from helpers import framescout

pytestmark = pytest.mark.slow

BUCKET = "shared-models"


def test_a_model_registered_on_one_host_is_served_by_another(
    postgres: services.Postgres,
    seaweed: services.SeaweedS3,
    nanodet_path: Path,
    coco_tiny: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services.wait_until_writable(seaweed, BUCKET)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    for name, value in seaweed.environment().items():
        monkeypatch.setenv(name, value)
    database = postgres.database_url(f"models_{uuid.uuid4().hex[:8]}")
    prefix = uuid.uuid4().hex[:8]
    blob_url = f"s3://{BUCKET}/{prefix}"
    urls = ("--database-url", database, "--blob-url", blob_url)

    admin_dir = tmp_path / "admin-host"

    def admin(*args: str) -> str:
        done = framescout(*args, *urls, "--data-dir", str(admin_dir))
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    key = admin("keys", "create", "-w", "acme").strip().splitlines()[-1]
    admin("projects", "create", "acme/coco")
    names = nanodet_path.with_name("coco.names")
    admin("models", "add", "acme/coco", "1", "--onnx", str(nanodet_path), "--classes", str(names))
    model_sha = sha256_hex(nanodet_path.read_bytes())
    assert S3BlobStore.open(BUCKET, prefix).exists(model_sha)

    serving_dir = tmp_path / "serving-host"  # empty: it has never seen the model file
    server = ServerProcess(serving_dir, workers=1, args=urls)
    image = (coco_tiny.parent / "samples" / "bus.jpg").read_bytes()
    with server:
        answer = httpx.post(
            f"{server.url}/coco/1",
            params={"api_key": key, "confidence": 30},
            content=base64.b64encode(image),
            timeout=120,
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"], "NanoDet-m finds something in a sample photo"
    cached = serving_dir / "models" / f"{model_sha}.onnx"
    assert cached.read_bytes() == nanodet_path.read_bytes()
