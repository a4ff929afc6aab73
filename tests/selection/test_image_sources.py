"""``framescout select --images s3://bucket/prefix`` on a real SeaweedFS, without Ray: the same pool and
picks as the same files in a folder, and one-line errors that name ``--images`` or the AWS setting."""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

import services
from framescout.selection.image_sources import ImageSourceError, list_s3_images, pool_items, read_image
from helpers import framescout
from selection_pools import picks, pool_folder, s3_client, upload_folder

BUCKET = "select-images"


@pytest.fixture(scope="module")
def s3(seaweed: services.SeaweedS3) -> services.SeaweedS3:
    services.wait_until_writable(seaweed, BUCKET)
    return seaweed


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, coco_tiny: Path) -> Path:
    return pool_folder(tmp_path_factory.mktemp("s3-pool"), coco_tiny, 10)


@pytest.fixture(scope="module")
def prefix(s3: services.SeaweedS3, folder: Path) -> str:
    """The folder's files under a prefix of their own, beside a stray image in another prefix."""
    name = f"pool-{uuid.uuid4().hex[:8]}"
    client = s3_client(s3.environment())
    upload_folder(client, folder, BUCKET, name)
    stray = next(folder.glob("*.jpg")).read_bytes()
    client.put_object(Bucket=BUCKET, Key=f"{name}-other/stray.jpg", Body=stray)  # same start, not under
    return name


def test_listing_reads_only_images_under_the_prefix_in_key_order(
    s3: services.SeaweedS3, folder: Path, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3.environment().items():
        monkeypatch.setenv(name, value)
    urls = list_s3_images(f"s3://{BUCKET}/{prefix}/")
    expected = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.jpg"))
    assert urls == [f"s3://{BUCKET}/{prefix}/{key}" for key in expected]
    items = pool_items(f"s3://{BUCKET}/{prefix}")
    assert [item.name for item in items] == urls
    assert items[0].read() == (folder / expected[0]).read_bytes()
    with pytest.raises(OSError, match="NoSuchKey"):
        read_image(f"s3://{BUCKET}/{prefix}/deleted-since.jpg")


def _select(images: str, out: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = framescout(
        "select", "--images", images, "--budget", "4", "--strategy", "kcenter", "--out", str(out), env=env
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def test_an_s3_prefix_picks_what_the_same_folder_picks(
    s3: services.SeaweedS3, folder: Path, prefix: str, tmp_path: Path
) -> None:
    local = _select(str(folder), tmp_path / "local.json")
    remote = _select(f"s3://{BUCKET}/{prefix}", tmp_path / "s3.json", env=s3.environment())
    assert picks(remote) == picks(local) and len(picks(local)) == 4
    assert list(remote["skipped"]) == [f"s3://{BUCKET}/{prefix}/broken.jpg"]
    assert remote["duplicates"] == {
        f"s3://{BUCKET}/{prefix}/{Path(dropped).relative_to(folder).as_posix()}": (
            f"s3://{BUCKET}/{prefix}/{Path(kept).relative_to(folder).as_posix()}"
        )
        for dropped, kept in local["duplicates"].items()
    }
    assert all(row["path"].startswith(f"s3://{BUCKET}/{prefix}/") for row in remote["picked"])


def test_copy_to_reads_the_picks_back_from_s3(
    s3: services.SeaweedS3, folder: Path, prefix: str, tmp_path: Path
) -> None:
    copies = tmp_path / "picked"
    result = framescout(
        "select",
        *("--images", f"s3://{BUCKET}/{prefix}", "--budget", "2", "--strategy", "random"),
        *("--copy-to", str(copies)),
        env=s3.environment(),
    )
    assert result.returncode == 0, result.stderr
    copied = sorted(copies.iterdir())
    assert len(copied) == 2
    for path in copied:
        original = next(folder.rglob(path.name.split("_", 1)[1]))
        assert path.read_bytes() == original.read_bytes()


ODD_KEYS = (
    "hash#1.jpg",
    "what?x=1.jpg",
    "percent%20sign.jpg",
    "plus+sign.jpg",
    "with space.jpg",
    "ünï/cødé.jpg",
)


def test_keys_with_url_characters_are_read_back_as_listed(
    s3: services.SeaweedS3, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3 keys may hold ``#``, ``?`` and ``%``: they were listed, then read as a URL (a fragment, a query,
    an escape) and so skipped as NoSuchKey."""
    for variable, value in s3.environment().items():
        monkeypatch.setenv(variable, value)
    name = f"odd-{uuid.uuid4().hex[:8]}"
    client = s3_client(s3.environment())
    sources = sorted(folder.rglob("0*.jpg"))  # real images only
    for key, source in zip(ODD_KEYS, sources, strict=False):
        client.put_object(Bucket=BUCKET, Key=f"{name}/{key}", Body=source.read_bytes())
    items = pool_items(f"s3://{BUCKET}/{name}")
    assert len(items) == len(ODD_KEYS)
    for item in items:
        key = item.name.removeprefix(f"s3://{BUCKET}/{name}/")
        assert item.read() == sources[ODD_KEYS.index(key)].read_bytes(), key
    report = _select(f"s3://{BUCKET}/{name}", tmp_path / "odd.json", env=s3.environment())
    assert report["skipped"] == {} and len(report["picked"]) == 4


def test_a_prefix_is_taken_literally_like_its_keys(
    s3: services.SeaweedS3, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``%20``, ``#`` and ``?`` in ``--images s3://bucket/prefix`` are part of the prefix (the AWS CLI's
    reading), as they are in the keys: a prefix was URL-decoded and one holding ``#`` refused."""
    for variable, value in s3.environment().items():
        monkeypatch.setenv(variable, value)
    name = f"lit%20eral#{uuid.uuid4().hex[:8]}?x"
    source = next(folder.rglob("0*.jpg")).read_bytes()
    s3_client(s3.environment()).put_object(Bucket=BUCKET, Key=f"{name}/one.jpg", Body=source)
    items = pool_items(f"s3://{BUCKET}/{name}")
    assert [item.name for item in items] == [f"s3://{BUCKET}/{name}/one.jpg"]
    assert items[0].read() == source


@pytest.mark.parametrize(
    ("images", "change", "says"),
    [
        ("s3://", {}, "is not s3://bucket or s3://bucket/prefix"),
        ("s3://no-such-bucket-framescout-test/x", {}, "does not exist"),  # each session: a new gateway
        (f"s3://{BUCKET}/x", {"AWS_SECRET_ACCESS_KEY": "wrong"}, "check AWS_ACCESS_KEY_ID"),
        ("s3://Bad_Bucket!/x", {}, 'Invalid bucket name "Bad_Bucket!"'),  # was several lines
    ],
)
def test_bad_s3_input_fails_in_one_line_naming_the_setting(
    s3: services.SeaweedS3, images: str, change: dict[str, str], says: str
) -> None:
    result = framescout("select", "--images", images, "--budget", "2", env={**s3.environment(), **change})
    assert result.returncode == 1, result.stdout
    assert says in result.stderr and "--images" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_endpoint_that_is_not_s3_is_not_called_a_missing_bucket(s3: services.SeaweedS3) -> None:
    """A plain web server answers ListObjectsV2 with a bare 404: that was "the bucket does not exist"."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        env = {**s3.environment(), "AWS_ENDPOINT_URL": endpoint}
        result = framescout("select", "--images", f"s3://{BUCKET}/x", "--budget", "2", env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"AWS_ENDPOINT_URL={endpoint} answered 404 Not Found without an S3 error" in result.stderr
    assert "does not exist at" not in result.stderr


def test_an_empty_prefix_has_no_images(s3: services.SeaweedS3) -> None:
    result = framescout(
        "select",
        "--images",
        f"s3://{BUCKET}/empty-{uuid.uuid4().hex[:6]}",
        "--budget",
        "2",
        env=s3.environment(),
    )
    assert result.returncode == 1 and "no images found" in result.stderr


def test_a_bad_url_is_refused_before_anything_is_asked() -> None:
    with pytest.raises(ImageSourceError, match="--images 's3://' is not"):
        list_s3_images("s3://")
