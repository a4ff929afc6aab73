"""Real-image pools for the selection tests of the S3 and Ray inputs: a folder of coco-tiny images with
an exact duplicate, a truncated file and a non-image, and the same files as objects under an S3 prefix."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


def pool_folder(root: Path, coco_tiny: Path, count: int) -> Path:
    """``count`` real images (some in a sub-folder), a duplicate, a truncated JPEG and a text file."""
    pool = root / "pool"
    (pool / "sub").mkdir(parents=True)
    sources = sorted((coco_tiny / "val2017").glob("*.jpg"))[:count]
    for i, src in enumerate(sources):
        shutil.copy(src, (pool / "sub" if i % 2 else pool) / src.name)
    shutil.copy(sources[0], pool / "copy-of-first.jpg")
    (pool / "broken.jpg").write_bytes(sources[1].read_bytes()[:500])
    (pool / "notes.txt").write_text("not an image")
    return pool


def upload_folder(client: Any, folder: Path, bucket: str, prefix: str) -> None:
    """Every file under ``folder`` as ``prefix/<relative path>`` in ``bucket``."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            key = f"{prefix}/{path.relative_to(folder).as_posix()}"
            client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())


def s3_client(environment: dict[str, str]) -> Any:
    """A boto3 client for the test S3 (``SeaweedS3.environment()``)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=environment["AWS_ENDPOINT_URL"],
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
        region_name=environment["AWS_DEFAULT_REGION"],
    )


def picks(report: dict[str, Any]) -> list[str]:
    """A JSON report's picks as file names (a folder path and an S3 URL of one file compare equal)."""
    return [Path(row["path"]).name for row in report["picked"]]
