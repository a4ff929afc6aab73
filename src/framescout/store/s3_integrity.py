"""``framescout doctor`` on an ``s3://`` blob store: the bucket's objects against the database.

The objects of the blob layout under the prefix (``<prefix>/ab/cd/<sha256>``) are listed with their
size and LastModified, before the references are read (an upload that commits in between is then seen
as referenced, never as an orphan); each is re-hashed by streaming it (`S3BlobStore.iter_chunks`), so a
corrupt object is found without holding it in memory. An object nothing refers to is an orphan whose
age is its LastModified: what a failed database transaction left behind is found here, and `repair.fix`
removes it past the grace period. Keys outside the layout are not framescout's and are left alone."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from framescout.store.integrity_report import FileIssue, Report
from framescout.store.references import References
from framescout.store.s3_blobs import S3BlobStore, _is_layout

Progress = Callable[[int], None]


@dataclass(frozen=True)
class StoredObject:
    """One blob object: its hash, key, size and LastModified (seconds since the epoch)."""

    sha256: str
    key: str
    size: int
    modified: float


def list_objects(s3: S3BlobStore) -> list[StoredObject]:
    """Every object of the blob layout under the store's prefix, sorted by hash."""
    start = f"{s3.prefix}/" if s3.prefix else ""
    found = []
    for page in s3.client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix=start):
        for item in page.get("Contents", []):
            key = str(item["Key"])
            parts = key[len(start) :].split("/")
            if len(parts) == 3 and _is_layout(parts):
                found.append(StoredObject(parts[2], key, int(item["Size"]), item["LastModified"].timestamp()))
    return sorted(found, key=lambda o: o.sha256)


def object_url(s3: S3BlobStore, key: str) -> str:
    """How a finding names an object: ``s3://bucket/key``."""
    return f"s3://{s3.bucket}/{key}"


def check_objects(
    s3: S3BlobStore,
    objects: list[StoredObject],
    refs: References,
    report: Report,
    *,
    now: float,
    rehash: bool,
    progress: Progress | None,
) -> dict[str, bool]:
    """Re-hash (unless ``rehash`` is off) and classify every listed object; ``hash -> content matches``
    (an object that vanished since the listing counts as not matching)."""
    present: dict[str, bool] = {}
    for obj in objects:
        good = _rehash(s3, obj.sha256, progress, report) if rehash else True
        present[obj.sha256] = good
        report.blobs_checked += 1
        if obj.sha256 not in refs.blobs and obj.sha256 not in refs.models:  # model files live here too
            reason = "no image, dataset version, manifest or registered model refers to it"
            report.orphans.append(
                FileIssue(
                    object_url(s3, obj.key),
                    "blob",
                    obj.size,
                    max(0.0, now - obj.modified),
                    reason + ("" if good else "; corrupt"),
                )
            )
    return present


def _rehash(s3: S3BlobStore, sha256: str, progress: Progress | None, report: Report) -> bool:
    digest = hashlib.sha256()
    try:
        for chunk in s3.iter_chunks(sha256):
            digest.update(chunk)
            report.bytes_hashed += len(chunk)
            if progress is not None:
                progress(len(chunk))
    except KeyError:
        return False  # removed since it was listed
    return digest.hexdigest() == sha256


def object_age(s3: S3BlobStore, sha256: str, now: float) -> float | None:
    """Seconds since the object was last written, ``None`` when it is gone (asked again before a
    removal: an object rewritten since the listing is young again)."""
    from botocore.exceptions import ClientError

    try:
        head = s3.client.head_object(Bucket=s3.bucket, Key=s3.key(sha256))
    except ClientError:
        return None
    return max(0.0, now - float(head["LastModified"].timestamp()))


def stored_object_bytes(s3: S3BlobStore) -> int:
    """The bytes a re-hash will read (the progress bar's total)."""
    return sum(o.size for o in list_objects(s3))
