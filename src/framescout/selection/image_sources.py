"""Where a selection pool's images come from: a folder, or an S3 prefix (``--images s3://bucket/prefix``).

The images are listed once, in the process that selects; each is then named by a *location* (a file
path or an ``s3://bucket/key`` URL) that `read_image` reads wherever the scoring runs: in this process,
or in a Ray worker on another machine (a folder must then be on a mount every node sees; an S3 prefix
is read by each worker from S3 directly). S3 is configured by boto3's ``AWS_*`` variables, as for the
blob store (`framescout.s3_config`); boto3 is the ``s3`` extra, imported on first use.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from framescout.s3_config import endpoint_setting, s3_client
from framescout.selection.folder import IMAGE_SUFFIXES, PoolItem, list_images

S3_EXTRA_HINT = "--images s3://... needs boto3: pip install 'framescout[s3]'"


class ImageSourceError(ValueError):
    """The images cannot be listed as given; the message is one line naming ``--images`` or the
    ``AWS_*`` setting to fix."""


@dataclass(frozen=True)
class S3Prefix:
    """``s3://bucket/prefix``: every image key under ``prefix/`` (the whole bucket when empty)."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Prefix:
        """Literally, like the keys (and the AWS CLI): ``%``, ``#`` and ``?`` are part of the prefix."""
        bucket, _, prefix = (
            url.removeprefix("s3://").partition("/") if url.startswith("s3://") else ("", "", "")
        )
        if not bucket:
            raise ImageSourceError(f"--images {url!r} is not s3://bucket or s3://bucket/prefix")
        return cls(bucket, prefix.strip("/"))

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def is_s3(images: str) -> bool:
    """Whether ``--images`` names an S3 prefix rather than a folder."""
    return images.startswith("s3://")


def pool_items(images: str) -> list[PoolItem]:
    """The images of a folder (recursive, by suffix) or of an S3 prefix, sorted, as pool items named by
    their location (the name `read_image` takes)."""
    if is_s3(images):
        return [PoolItem(url, functools.partial(read_image, url)) for url in list_s3_images(images)]
    folder = Path(images)
    if not folder.is_dir():
        raise ImageSourceError(f"--images {images} is not a folder (nor an s3://bucket/prefix)")
    return [PoolItem(str(path), path.read_bytes) for path in list_images(folder)]


def read_image(location: str) -> bytes:
    """The bytes at a location from `pool_items`. A failure is an `OSError` (the scan skips the image
    with the reason), for S3 too: a key deleted since the listing, a refused read."""
    if not is_s3(location):
        return Path(location).read_bytes()
    client = _client()
    from botocore.exceptions import BotoCoreError, ClientError

    # literally ``s3://bucket/key`` (as `list_s3_images` builds it): a key may hold ``#``, ``?`` or ``%``
    bucket, _, key = location.removeprefix("s3://").partition("/")
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
    except ClientError as exc:
        raise OSError(f"S3 answered {_code(exc)} for {location}") from None
    except BotoCoreError as exc:
        raise OSError(f"cannot read {location} at {endpoint_setting()}: {exc}") from None
    return data


def list_s3_images(images: str) -> list[str]:
    """``s3://bucket/key`` of every object under the prefix whose name has an image suffix, by key."""
    where = S3Prefix.parse(images)
    client = _client()
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ParamValidationError

    start = f"{where.prefix}/" if where.prefix else ""
    urls: list[str] = []
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=where.bucket, Prefix=start)
        for page in pages:
            for item in page.get("Contents", []):
                key = str(item["Key"])
                if PurePosixPath(key).suffix.lower() in IMAGE_SUFFIXES:
                    urls.append(f"s3://{where.bucket}/{key}")
    except NoCredentialsError:
        raise ImageSourceError(
            f"no S3 credentials for --images {where.describe()}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY"
        ) from None
    except ParamValidationError as exc:  # botocore's own check of the bucket name: several lines
        detail = str(exc).strip().splitlines()[-1].split(":")[0]
        raise ImageSourceError(f"--images {where.describe()}: {detail}") from None
    except ClientError as exc:
        code = _code(exc)
        if code == "NoSuchBucket":
            raise ImageSourceError(
                f"--images {where.describe()}: the bucket {where.bucket!r} does not exist at "
                f"{endpoint_setting()}"
            ) from None
        if code == "404":  # a bare 404, no S3 error in the body: not an S3 API, as a rule
            raise ImageSourceError(
                f"--images {where.describe()}: {endpoint_setting()} answered 404 Not Found without an "
                f"S3 error: is it the S3 endpoint, and does the bucket {where.bucket!r} exist?"
            ) from None
        raise ImageSourceError(
            f"S3 answered {code or exc} listing --images {where.describe()}: check AWS_ACCESS_KEY_ID, "
            f"AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION ({endpoint_setting()})"
        ) from None
    except BotoCoreError as exc:
        raise ImageSourceError(
            f"cannot reach S3 for --images {where.describe()} at {endpoint_setting()}: {exc}"
        ) from None
    return sorted(urls, key=lambda url: url.encode())  # S3's own order: by the key's UTF-8 bytes


_local = threading.local()
_lock = threading.Lock()


def _client() -> Any:
    """This thread's S3 client (boto3 clients are made once per thread: creating one costs ~10 ms)."""
    client = getattr(_local, "client", None)
    if client is None:
        with _lock:  # boto3's session set-up is not thread-safe
            try:
                client = s3_client()
            except ImportError:
                raise ImageSourceError(S3_EXTRA_HINT) from None
            except Exception as exc:  # an endpoint that is not a URL, say
                raise ImageSourceError(f"cannot configure S3 ({endpoint_setting()}): {exc}") from None
        _local.client = client
    return client


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
