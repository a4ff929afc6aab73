"""Blobs in an S3-compatible bucket (AWS S3, SeaweedFS, MinIO, Ceph RGW, ...): the `BlobStore` of a
scale-out install, so that a server host keeps no image bytes on its own disk.

Keys have the local layout under an optional prefix: ``<prefix>/ab/cd/<sha256>``. A blob is visible
only when complete: S3 creates an object at the end of a successful PUT, never part of one, so no
temporary key is needed. ``put`` is idempotent: it writes with ``If-None-Match: *``, so of two
concurrent uploads of the same bytes one is told it created the object and the other that it already
existed (412); a server that ignores the condition just overwrites identical bytes, which is harmless.
Only a blob larger than `HEAD_FIRST_BYTES` (a model file, say) is asked for first (HEAD), so that
known bytes are not sent again; for an image the extra round trip would cost more than re-sending it
on the rare duplicate that reaches the store (the server answers duplicates from the database first).

Configuration is boto3's own: ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``),
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``. `S3BlobStore.open` checks the
bucket once (HEAD bucket) and turns every botocore failure into a `BlobStoreUnavailable` whose message
names the setting to fix. boto3 is the ``s3`` extra, imported on first use (`framescout.s3_config`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from framescout.imaging import sha256_hex
from framescout.s3_config import endpoint_setting, s3_client
from framescout.store.blob_url import BlobStoreUnavailable
from framescout.store.blobs import _check_hash

S3_EXTRA_HINT = "s3:// blob URLs need boto3: pip install 'framescout[s3]'"
CHUNK = 1024 * 1024
PUT_ATTEMPTS = 3
HEAD_FIRST_BYTES = 8 * 1024 * 1024


class S3BlobStore:
    """Content-addressed blobs as objects ``<prefix>/ab/cd/<sha256>`` in one bucket."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    @classmethod
    def open(cls, bucket: str, prefix: str = "") -> S3BlobStore:
        """A store over ``bucket`` configured from the ``AWS_*`` variables, checked with one HEAD."""
        try:
            client = s3_client()
        except ImportError:
            raise BlobStoreUnavailable(S3_EXTRA_HINT) from None
        except Exception as exc:  # e.g. an endpoint URL that is not a URL
            raise BlobStoreUnavailable(f"cannot configure S3 ({endpoint_setting()}): {exc}") from None
        store = cls(client, bucket, prefix)
        store.check()
        return store

    def check(self) -> None:
        """HEAD the bucket: raises `BlobStoreUnavailable` saying what is wrong (also for readiness)."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        where = self.describe()
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except NoCredentialsError:
            raise BlobStoreUnavailable(
                f"no S3 credentials for {where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ) from None
        except ClientError as exc:
            code = _code(exc)
            if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise BlobStoreUnavailable(
                    f"S3 refused the credentials for {where} ({code}): check AWS_ACCESS_KEY_ID and "
                    f"AWS_SECRET_ACCESS_KEY ({endpoint_setting()})"
                ) from None
            if code in ("404", "NoSuchBucket"):
                raise BlobStoreUnavailable(
                    f"the bucket {self.bucket!r} does not exist at {endpoint_setting()}: create it, "
                    "or fix FRAMESCOUT_BLOB_URL / --blob-url"
                ) from None
            raise BlobStoreUnavailable(
                f"S3 answered {code or exc} for {where} ({endpoint_setting()}): check AWS_DEFAULT_REGION "
                "and the bucket name"
            ) from None
        except BotoCoreError as exc:  # connection refused, DNS, timeouts, a bad region, ...
            raise BlobStoreUnavailable(
                f"cannot reach S3 for {where} at {endpoint_setting()}: {exc}; check AWS_ENDPOINT_URL "
                "and AWS_DEFAULT_REGION"
            ) from None

    def key(self, sha256: str) -> str:
        """The object key of a hash (`KeyError` for anything that is not a lowercase SHA-256)."""
        sha256 = _check_hash(sha256)
        name = f"{sha256[:2]}/{sha256[2:4]}/{sha256}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store bytes; ``(sha256, created)``, ``created`` False when the object already existed."""
        from botocore.exceptions import ClientError

        sha256 = sha256_hex(data)
        key = self.key(sha256)
        if len(data) > HEAD_FIRST_BYTES and self.exists(sha256):
            return sha256, False
        attempts = PUT_ATTEMPTS
        while True:
            try:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*")
            except ClientError as exc:
                code = _code(exc)
                if code in ("PreconditionFailed", "412"):
                    return sha256, False  # a concurrent upload of the same bytes got there first
                attempts -= 1
                if code not in ("ConditionalRequestConflict", "409") or attempts == 0:
                    raise
                # (AWS) a concurrent conditional write of this key was still in flight: ask again
            else:
                return sha256, True

    def get(self, sha256: str) -> bytes:
        """The stored bytes; `KeyError` when absent (like `LocalBlobStore`)."""
        body = self._body(sha256)
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data

    def iter_chunks(
        self, sha256: str, size: int = CHUNK, *, first: int = 0, last: int | None = None
    ) -> Iterator[bytes]:
        """The stored bytes in chunks of ``size`` without holding the whole object (bytes ``first`` to
        ``last`` inclusive when given: one ranged GET); `KeyError` when absent (raised at the call,
        before the first chunk)."""
        ranged = first > 0 or last is not None
        body = self._body(sha256, f"bytes={first}-{'' if last is None else last}" if ranged else None)

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(size)
            finally:
                body.close()

        return chunks()

    def _body(self, sha256: str, byte_range: str | None = None) -> Any:
        from botocore.exceptions import ClientError

        key = self.key(sha256)
        extra = {"Range": byte_range} if byte_range else {}
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"]
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                raise KeyError(sha256) from None
            raise

    def size(self, sha256: str) -> int:
        """The stored object's length in bytes (one HEAD); `KeyError` when absent."""
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise KeyError(sha256) from None
            raise
        return int(head["ContentLength"])

    def exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, sha256: str) -> None:
        """Remove a blob (no error when absent: S3's DELETE is idempotent)."""
        self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))

    def iter_hashes(self) -> list[str]:
        """Every stored hash (keys of the blob layout under the prefix; anything else is ignored)."""
        start = f"{self.prefix}/" if self.prefix else ""
        found: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents", []):
                name = str(item["Key"])[len(start) :]
                parts = name.split("/")
                if len(parts) == 3 and _is_layout(parts):
                    found.append(parts[2])
        return sorted(found)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def _is_layout(parts: list[str]) -> bool:
    first, second, name = parts
    try:
        _check_hash(name)
    except KeyError:
        return False
    return first == name[:2] and second == name[2:4]


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
