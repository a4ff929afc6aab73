"""boto3's S3 client configured once for every framescout use of S3 (the blob store, and
``framescout select --images s3://bucket/prefix``).

Configuration is boto3's own: ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``), ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``. boto3 is the ``s3`` extra: it is imported here, on
first use, and `s3_client` raises `ImportError` when it is missing so that each caller can name its extra.
"""

from __future__ import annotations

import os
from typing import Any

ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def endpoint_setting() -> str:
    """Which variable gives the endpoint, with its value, for error messages."""
    for name in ENDPOINT_VARIABLES:
        if os.environ.get(name):
            return f"{name}={os.environ[name]}"
    return "AWS_ENDPOINT_URL (unset: AWS S3 itself)"


def s3_client() -> Any:
    """A new boto3 S3 client from the ``AWS_*`` variables: short connect timeout, standard retries, and
    checksums only when required (S3-compatible servers differ in their support of the newer defaults).

    Raises `ImportError` without boto3, and boto3's own exception for a setting it refuses (an endpoint
    that is not a URL, say)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.session.Session().client("s3", config=config)
