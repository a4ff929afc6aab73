"""Both blob stores keep the same contract (`framescout.store.blobs.BlobStore`): the local directory and
S3 on a real SeaweedFS. Then what only S3 has (its key layout, prefixes, streaming, open-time checks)
and the ``FRAMESCOUT_BLOB_URL`` parser."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import services
from framescout.imaging import sha256_hex
from framescout.store import Store, s3_blobs
from framescout.store.blob_url import BLOB_URL_ENV, BlobStoreUnavailable, open_blob_store
from framescout.store.blobs import BlobStore, LocalBlobStore
from framescout.store.s3_blobs import S3BlobStore

BUCKET = "blob-tests"
AWS_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")


@pytest.fixture(scope="module")
def s3_bucket(seaweed: services.SeaweedS3) -> services.SeaweedS3:
    services.wait_until_writable(seaweed, BUCKET)
    return seaweed


@pytest.fixture
def s3_env(s3_bucket: services.SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> services.SeaweedS3:
    """This process configured for the test S3 through boto3's standard variables."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    for name, value in s3_bucket.environment().items():
        monkeypatch.setenv(name, value)
    return s3_bucket


def _prefix() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"  # every test its own part of the bucket


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.slow)])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
    else:
        request.getfixturevalue("s3_env")
        yield S3BlobStore.open(BUCKET, _prefix())


def test_put_get_exists_delete(blobs: BlobStore) -> None:
    data = os.urandom(5000)
    digest, created = blobs.put(data)
    assert digest == sha256_hex(data) and created
    assert blobs.exists(digest) and blobs.get(digest) == data
    blobs.delete(digest)
    assert not blobs.exists(digest)
    with pytest.raises(KeyError):
        blobs.get(digest)
    blobs.delete(digest)  # absent: no error


def test_put_is_idempotent_and_says_so(blobs: BlobStore) -> None:
    data = b"same bytes twice"
    first = blobs.put(data)
    second = blobs.put(data)
    assert first == (sha256_hex(data), True)
    assert second == (sha256_hex(data), False)
    assert blobs.get(first[0]) == data and blobs.iter_hashes() == [first[0]]


def test_missing_blob_is_a_key_error(blobs: BlobStore) -> None:
    absent = sha256_hex(b"never stored")
    assert not blobs.exists(absent)
    with pytest.raises(KeyError):
        blobs.get(absent)


@pytest.mark.parametrize("bad", ["", "abc", "A" * 64, "../" + "a" * 61, "a" * 63 + "/", "g" * 64])
def test_a_bad_hash_is_refused(blobs: BlobStore, bad: str) -> None:
    for call in (blobs.get, blobs.exists, blobs.delete):
        with pytest.raises(KeyError):
            call(bad)


def test_iter_hashes_lists_what_is_stored_sorted(blobs: BlobStore) -> None:
    assert blobs.iter_hashes() == []
    digests = [blobs.put(f"blob {i}".encode())[0] for i in range(5)]
    blobs.delete(digests[2])
    assert blobs.iter_hashes() == sorted(d for i, d in enumerate(digests) if i != 2)


def test_an_empty_blob_is_a_blob(blobs: BlobStore) -> None:
    digest, created = blobs.put(b"")
    assert created and blobs.get(digest) == b"" and blobs.exists(digest)


# ------------------------------------------------------------------------------------------ S3 only
@pytest.mark.slow
def test_s3_keys_have_the_local_layout_under_the_prefix(s3_env: services.SeaweedS3) -> None:
    prefix = _prefix()
    store = S3BlobStore.open(BUCKET, f"/{prefix}/")
    digest, _ = store.put(b"layout")
    keys = [o["Key"] for o in store.client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]]
    assert keys == [f"{prefix}/{digest[:2]}/{digest[2:4]}/{digest}"]
    assert store.describe() == f"s3://{BUCKET}/{prefix}"


@pytest.mark.slow
def test_s3_prefixes_are_separate_stores_and_stray_keys_are_not_blobs(s3_env: services.SeaweedS3) -> None:
    one, two = S3BlobStore.open(BUCKET, _prefix()), S3BlobStore.open(BUCKET, _prefix())
    digest, _ = one.put(b"only in one")
    assert not two.exists(digest) and two.iter_hashes() == []
    one.client.put_object(Bucket=BUCKET, Key=f"{one.prefix}/notes.txt", Body=b"x")
    one.client.put_object(Bucket=BUCKET, Key=f"{one.prefix}/00/00/{digest}", Body=b"misplaced")
    assert one.iter_hashes() == [digest]


@pytest.mark.slow
def test_s3_concurrent_puts_of_the_same_bytes_store_it_once(s3_env: services.SeaweedS3) -> None:
    store = S3BlobStore.open(BUCKET, _prefix())
    data = os.urandom(300_000)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.put(data), range(8)))
    assert {digest for digest, _ in results} == {sha256_hex(data)}
    assert sum(created for _, created in results) == 1  # If-None-Match: one writer wins
    assert store.get(sha256_hex(data)) == data and store.iter_hashes() == [sha256_hex(data)]
    assert store.put(data) == (sha256_hex(data), False)


@pytest.mark.slow
def test_s3_sends_known_large_bytes_once_and_small_ones_without_asking(
    s3_env: services.SeaweedS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Images go straight to a conditional PUT (one round trip); a blob above `HEAD_FIRST_BYTES` is
    asked for first, so the bytes of a known model file are not sent again."""
    monkeypatch.setattr(s3_blobs, "HEAD_FIRST_BYTES", 1000)
    store = S3BlobStore.open(BUCKET, _prefix())
    calls: list[str] = []
    store.client.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    small, large = os.urandom(500), os.urandom(5000)
    assert store.put(small)[1] and not store.put(small)[1]
    assert calls == ["PutObject", "PutObject"]  # the second answered 412: not created
    calls.clear()
    assert store.put(large)[1] and not store.put(large)[1]
    assert calls == ["HeadObject", "PutObject", "HeadObject"]
    assert store.get(sha256_hex(small)) == small and store.get(sha256_hex(large)) == large


@pytest.mark.slow
def test_s3_streams_a_large_blob_in_chunks(s3_env: services.SeaweedS3) -> None:
    store = S3BlobStore.open(BUCKET, _prefix())
    data = os.urandom(3 * 1024 * 1024 + 17)
    digest, _ = store.put(data)
    chunks = list(store.iter_chunks(digest, 1024 * 1024))
    assert len(chunks) == 4 and b"".join(chunks) == data
    with pytest.raises(KeyError):
        store.iter_chunks(sha256_hex(b"absent"))


@pytest.mark.slow
def test_s3_open_names_the_setting_to_fix(
    s3_env: services.SeaweedS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(BlobStoreUnavailable, match="bucket 'no-such-bucket' does not exist"):
        S3BlobStore.open("no-such-bucket")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    with pytest.raises(BlobStoreUnavailable, match=r"refused the credentials.*AWS_SECRET_ACCESS_KEY"):
        S3BlobStore.open(BUCKET)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{services.free_ports(1)[0]}")
    with pytest.raises(BlobStoreUnavailable, match=r"cannot reach S3.*AWS_ENDPOINT_URL=http://127\.0\.0\.1:"):
        S3BlobStore.open(BUCKET)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "not a url")
    with pytest.raises(BlobStoreUnavailable, match="AWS_ENDPOINT_URL_S3=not a url"):
        S3BlobStore.open(BUCKET)
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(BlobStoreUnavailable, match=r"no S3 credentials.*AWS_ACCESS_KEY_ID"):
        S3BlobStore.open(BUCKET)


def test_s3_without_boto3_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # what `import boto3` meets when it is not installed
    with pytest.raises(BlobStoreUnavailable, match=r"pip install 'framescout\[s3\]'"):
        S3BlobStore.open(BUCKET)


# ----------------------------------------------------------------------------- FRAMESCOUT_BLOB_URL
def test_no_url_is_the_data_directory_and_file_urls_are_paths(tmp_path: Path) -> None:
    default = open_blob_store(None, tmp_path)
    assert isinstance(default, LocalBlobStore) and default.root == tmp_path / "blobs"
    shared = open_blob_store(f"file://{tmp_path}/shared%20blobs", tmp_path)
    assert isinstance(shared, LocalBlobStore) and shared.root == tmp_path / "shared blobs"
    assert isinstance(open_blob_store(f"file://localhost{tmp_path}/x", tmp_path), LocalBlobStore)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("file://server/share", "needs an absolute path"),
        ("file:relative/dir", "needs an absolute path"),
        ("s3://", "is not s3://bucket"),
        ("s3:///prefix-only", "is not s3://bucket"),
        ("s3://bucket/p?versioning=1", "is not s3://bucket"),
        ("/srv/blobs", "unsupported blob URL"),
        ("gs://bucket/prefix", "unsupported blob URL"),
    ],
)
def test_a_bad_blob_url_names_the_setting(tmp_path: Path, url: str, says: str) -> None:
    with pytest.raises(BlobStoreUnavailable, match=says) as caught:
        open_blob_store(url, tmp_path)
    assert str(caught.value).startswith(f"{BLOB_URL_ENV} / --blob-url: ")
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_store_open_reads_the_blob_url_and_keeps_no_blobs_locally(
    s3_env: services.SeaweedS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = _prefix()
    monkeypatch.setenv(BLOB_URL_ENV, f"s3://{BUCKET}/{prefix}")
    store = Store.open(tmp_path / "data")
    try:
        assert isinstance(store.blobs, S3BlobStore) and store.blobs.prefix == prefix
        digest, _ = store.blobs.put(b"in the bucket")
        assert not (tmp_path / "data" / "blobs").exists()
        with pytest.raises(BlobStoreUnavailable, match="not yet in an s3:// blob store"):
            store.local_blobs  # noqa: B018
    finally:
        store.close()
    explicit = Store.open(tmp_path / "data", blob_url=f"file://{tmp_path}/elsewhere")  # wins over the env
    try:
        assert explicit.local_blobs.root == tmp_path / "elsewhere"
        assert not explicit.blobs.exists(digest)
    finally:
        explicit.close()


def test_a_bad_blob_url_fails_before_the_database_is_made(tmp_path: Path) -> None:
    with pytest.raises(BlobStoreUnavailable):
        Store.open(tmp_path / "data", blob_url="ftp://x")
    assert not (tmp_path / "data" / "framescout.db").exists()
