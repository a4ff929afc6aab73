"""``framescout select --ray ADDRESS`` on a real Ray head (``ray start --head``) with the real NanoDet-m:
the picks, explanations, skips and duplicates equal the local run's for the same seed, from a folder
and from an S3 prefix on a real SeaweedFS that only the workers read; embeddings arrive memory-mapped;
and the failures a user meets are one line naming ``--ray``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import services
from framescout.imaging import sha256_hex
from framescout.selection import ray_scoring
from framescout.selection.folder import scan
from framescout.selection.image_sources import pool_items
from framescout.selection.scoring import ScoringConfig
from helpers import framescout
from ray_cluster import RayHead, start_ray_head
from selection_pools import picks, pool_folder, s3_client, upload_folder

pytestmark = pytest.mark.slow  # a Ray cluster and its actors take tens of seconds to start here

BUCKET = "select-ray"


@pytest.fixture(scope="module")
def head() -> Iterator[RayHead]:
    cluster = start_ray_head(cpus=2)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, coco_tiny: Path) -> Path:
    return pool_folder(tmp_path_factory.mktemp("ray-pool"), coco_tiny, 12)


def _select(images: str, out: Path, *options: str, env: dict[str, str]) -> dict[str, Any]:
    result = framescout("select", "--images", images, "--budget", "4", "--out", str(out), *options, env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def test_ray_picks_what_the_local_run_picks(
    head: RayHead, folder: Path, nanodet_path: Path, tmp_path: Path
) -> None:
    """The default strategy with a model (uncertainty and diversity): the whole JSON report is equal."""
    model = ("--model", str(nanodet_path), "--classes", str(nanodet_path.parent / "coco.names"))
    local = _select(str(folder), tmp_path / "local.json", *model, "--seed", "3", env=head.environment)
    remote = _select(
        str(folder), tmp_path / "ray.json", *model, "--seed", "3", "--ray", head.address, env=head.environment
    )
    assert remote == local
    assert len(local["picked"]) == 4 and list(local["skipped"]) == [str(folder / "broken.jpg")]
    assert local["duplicates"] == {str(folder / "copy-of-first.jpg"): str(sorted(folder.glob("0*.jpg"))[0])}


def test_ray_workers_read_an_s3_prefix_themselves(
    head: RayHead, seaweed: services.SeaweedS3, folder: Path, tmp_path: Path
) -> None:
    """The head was started without AWS settings: the driver's reach the actors, which read S3."""
    services.wait_until_writable(seaweed, BUCKET)
    prefix = f"pool-{uuid.uuid4().hex[:8]}"
    upload_folder(s3_client(seaweed.environment()), folder, BUCKET, prefix)
    env = {**head.environment, **seaweed.environment()}
    images = f"s3://{BUCKET}/{prefix}"
    local = _select(str(folder), tmp_path / "local.json", "--strategy", "kcenter", env=env)
    remote = _select(images, tmp_path / "ray.json", "--strategy", "kcenter", "--ray", head.address, env=env)
    assert picks(remote) == picks(local)
    assert list(remote["skipped"]) == [f"{images}/broken.jpg"]
    assert remote["skipped"][f"{images}/broken.jpg"] == local["skipped"][str(folder / "broken.jpg")]


def test_scan_on_ray_equals_scan_and_maps_the_embeddings(
    head: RayHead, folder: Path, nanodet_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in head.environment.items():
        monkeypatch.setenv(name, value)
    items = pool_items(str(folder))
    config = ScoringConfig(
        model=str(nanodet_path), classes=str(nanodet_path.parent / "coco.names"), want_embeddings=True
    )
    local = scan(items, scorer=config.build())
    done: list[int] = []
    with ray_scoring.ray_cluster(head.address) as ray:
        scored = ray_scoring.score_on_ray([i.name for i in items], config, workers=2, batch_size=4)
        remote = ray_scoring.scan_on_ray(items, config, workers=1, progress=done.append)
        assert ray.is_initialized()
    assert not ray.is_initialized()  # the block connected, and disconnected again
    assert done[-1] == len(items)
    assert all(isinstance(s.embedding, np.memmap) for s in scored if not isinstance(s, str))
    broken = [i for i, item in enumerate(items) if item.name.endswith("broken.jpg")]
    assert [i for i, s in enumerate(scored) if isinstance(s, str)] == broken  # in pool order
    assert [s.sha256 for s in scored if not isinstance(s, str)] == [
        sha256_hex(item.read()) for i, item in enumerate(items) if i not in broken
    ]
    assert remote.hashes == local.hashes and remote.skipped == local.skipped
    assert remote.duplicates == local.duplicates
    assert isinstance(remote.pool.embeddings, np.memmap)
    assert np.array_equal(np.asarray(remote.pool.embeddings), np.asarray(local.pool.embeddings))
    assert remote.pool.predictions is not None and local.pool.predictions is not None
    for ours, theirs in zip(remote.pool.predictions, local.pool.predictions, strict=True):
        assert np.array_equal(ours.xyxy, theirs.xyxy) and np.array_equal(ours.confidence, theirs.confidence)
        assert list(ours.class_name) == list(theirs.class_name)


def test_an_address_where_nothing_listens_fails_in_one_line(folder: Path) -> None:
    (port,) = services.free_ports(1)
    result = framescout("select", "--images", str(folder), "--budget", "2", "--ray", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert f"--ray 127.0.0.1:{port}: nothing answers there" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (
            ["--project", "acme/p", "--ray", "auto", "--server", "http://x", "--api-key", "k"],
            "--ray scores --images",
        ),
        (["--images", "FOLDER", "--ray-workers", "2"], "--ray-workers sets the actors of --ray"),
        (["--images", "FOLDER", "--ray", "nonsense"], "--ray 'nonsense' is not auto, HOST:PORT"),
    ],
)
def test_ray_options_that_cannot_work_fail_in_one_line(folder: Path, options: list[str], says: str) -> None:
    result = framescout("select", "--budget", "2", *(str(folder) if o == "FOLDER" else o for o in options))
    assert result.returncode == 1 and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_without_ray_installed_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets when it is not installed
    with (
        pytest.raises(ray_scoring.RayUnavailable, match=r"pip install 'framescout\[ray\]'"),
        ray_scoring.ray_cluster("auto"),
    ):
        pass


@pytest.mark.parametrize(
    ("count", "workers", "rows"),
    [(1, 1, 16), (12, 2, 16), (1000, 2, 64), (1000, 1, 128), (10**6, 2, 1024), (10**6, 64, 1024)],
)
def test_blocks_are_whole_batches_about_eight_per_worker_and_bounded(
    count: int, workers: int, rows: int
) -> None:
    assert ray_scoring.block_rows(count, workers, 16) == rows


_LOCAL_RAY = """
import json, socket
from ray._private import services
from framescout.selection.ray_scoring import ray_cluster
routable = services.node_ip_address_from_perspective()
with ray_cluster("auto") as ray:
    gcs = ray.get_runtime_context().gcs_address
    nodes = sorted({node["NodeManagerAddress"] for node in ray.nodes()})
    port = int(gcs.rpartition(":")[2])
    try:
        socket.create_connection((routable, port), timeout=2).close()
        reachable = True
    except OSError:
        reachable = False
print(json.dumps({"gcs": gcs, "nodes": nodes, "routable": routable, "reachable": reachable}))
"""


def test_auto_without_a_cluster_starts_a_ray_that_only_this_machine_can_reach() -> None:
    """``--ray auto`` with no cluster to join starts Ray for the run on 127.0.0.1, not on the
    machine's routable address: Ray's cluster ports run code sent to them without authentication."""
    root = Path(tempfile.mkdtemp(prefix="fs-rl-"))  # no cluster recorded here; short socket paths
    env = {name: value for name, value in os.environ.items() if not name.startswith("RAY_")}
    env.update(TMPDIR=str(root), RAY_USAGE_STATS_ENABLED="0")
    try:
        done = subprocess.run(
            [sys.executable, "-c", _LOCAL_RAY], env=env, capture_output=True, text=True, timeout=300
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["gcs"].startswith("127.0.0.1:") and seen["nodes"] == ["127.0.0.1"], seen
    if seen["routable"] != "127.0.0.1":
        assert not seen["reachable"], seen
