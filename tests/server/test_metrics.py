"""``GET /metrics``: a real server with two workers reports counters summed over both, by route template;
in-process: the optional token, blob-store failures counted (and seen by ``/readyz``)."""

from __future__ import annotations

import base64
import secrets
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from framescout.server import Settings, create_app
from served import Served, admin, prepare, scrape

IMAGE_ROUTE = "/api/v1/projects/{workspace}/{project}/images"


def _labels(**labels: str) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def _worker_pids(data_dir: Path) -> set[str]:
    """The processes that have written samples into this run's multi-process directory."""
    return {p.stem.rsplit("_", 1)[-1] for p in (data_dir / "cache" / "metrics").glob("run-*/*.db")}


def _spread_until_both_workers_counted(served: Served, data_dir: Path) -> int:
    """Concurrent lookups of made-up image ids (404), each on its own connection, until both workers
    have counted some; returns how many were sent."""
    sent = 0

    images = f"{served.server.url}{IMAGE_ROUTE.format(workspace='acme', project='cams')}"

    def missing(_: int) -> int:
        return httpx.get(f"{images}/{secrets.token_hex(8)}", headers=served.auth, timeout=10).status_code

    with ThreadPoolExecutor(8) as pool:
        for _ in range(30):
            assert set(pool.map(missing, range(16))) == {404}
            sent += 16
            if len(_worker_pids(data_dir)) >= 2:
                return sent
    raise AssertionError(f"one worker took all {sent} connections: {_worker_pids(data_dir)}")


@pytest.mark.slow
def test_two_workers_report_uploads_and_requests_summed(
    tmp_path: Path, make_jpeg: Callable[..., bytes]
) -> None:
    data_dir = tmp_path / "data"
    served = prepare(data_dir, workers=2)
    with served.server:
        images = [make_jpeg(seed=seed) for seed in range(6)]
        with ThreadPoolExecutor(3) as pool:
            new = list(pool.map(served.upload, images))
            duplicates = list(pool.map(served.upload, images[:3]))
            rejected = list(pool.map(served.upload, [b"not an image", b"\xff\xd8 still not"]))
        assert [r.status_code for r in new] == [201] * 6
        assert [r.status_code for r in duplicates] == [200] * 3
        codes = {r.json()["error"]["code"] for r in rejected}
        assert len(codes) == 1 and {r.status_code for r in rejected} < {400, 415, 422}, rejected[0].text
        (code,) = codes
        rejected_status = str(rejected[0].status_code)
        lookups = _spread_until_both_workers_counted(served, data_dir)
        assert len(_worker_pids(data_dir)) == 2

        first, second = scrape(served.server.url), scrape(served.server.url)
        ours = {k: v for k, v in first.items() if not k[0].endswith("_created") and "/metrics" not in str(k)}
        assert ours == {k: second[k] for k in ours}, "two scrapes (any worker) disagree"
        count = first.__getitem__
        assert count(("framescout_uploads_total", _labels(outcome="new", code=""))) == 6
        assert count(("framescout_uploads_total", _labels(outcome="duplicate", code=""))) == 3
        assert count(("framescout_uploads_total", _labels(outcome="rejected", code=code))) == 2
        for status, n in (("201", 6), ("200", 3), (rejected_status, 2)):
            labels = _labels(method="POST", route=IMAGE_ROUTE, status=status)
            assert count(("framescout_http_requests_total", labels)) == n
        lookup = _labels(method="GET", route=IMAGE_ROUTE + "/{image_id}", status="404")
        assert count(("framescout_http_requests_total", lookup)) == lookups
        for outcome, n in (("new", 6), ("duplicate", 3), ("rejected", 2)):
            assert count(("framescout_ingest_duration_seconds_count", _labels(outcome=outcome))) == n
            inf = _labels(outcome=outcome, le="+Inf")
            assert count(("framescout_ingest_duration_seconds_bucket", inf)) == n
        routes = {
            dict(labels).get("route", "") for name, labels in first if name.startswith("framescout_http")
        }
        assert not any("acme" in route or "cams" in route for route in routes), routes
    run_dirs = list((data_dir / "cache" / "metrics").glob("run-*"))
    assert run_dirs == [], "serve removes its multi-process directory when it stops"


def test_metrics_token_is_required_when_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAMESCOUT_METRICS_TOKEN", "s3cret-token")
    client = TestClient(create_app(Settings(data_dir=tmp_path / "data")))
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    allowed = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert allowed.status_code == 200 and "framescout_http_requests_total" in allowed.text


def _value(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_blob_store_failure_is_counted_and_not_ready(env: Any, make_jpeg: Callable[..., bytes]) -> None:
    """The blob directory replaced by a file (a volume gone): uploads fail with a JSON 500, the
    failure is counted by operation, and ``/readyz`` answers 503 naming the blob store."""
    client: TestClient = env.client
    before = client.get("/metrics").text
    assert client.get("/readyz").json()["status"] == "ready"
    blobs = env.store.data_dir / "blobs"
    shutil.rmtree(blobs)
    blobs.write_text("not a directory")
    response = client.post(
        "/api/v1/projects/acme/cams/images",
        headers=env.auth(),
        files={"file": ("x.jpg", make_jpeg(seed=99), "image/jpeg")},
    )
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal_error"
    after = client.get("/metrics").text
    put_errors = sum(
        _value(text, "framescout_blob_store_errors_total", operation="put") * sign
        for text, sign in ((after, 1), (before, -1))
    )
    assert put_errors == 1
    rejected = ("framescout_uploads_total", {"outcome": "rejected", "code": "internal_error"})
    assert _value(after, rejected[0], **rejected[1]) - _value(before, rejected[0], **rejected[1]) == 1
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "ok", "blob_store": "failed: FileNotFoundError"}
    assert client.get("/healthz").status_code == 200


@pytest.mark.slow
def test_inference_latency_is_recorded(
    tmp_path: Path, nanodet_path: Path, make_jpeg: Callable[..., bytes]
) -> None:
    data_dir = tmp_path / "data"
    served = prepare(data_dir)
    names = str(nanodet_path.with_name("coco.names"))
    model = ("--onnx", str(nanodet_path), "--format", "nanodet", "--classes", names)
    admin(data_dir, {}, "models", "add", "acme/cams", "1", *model)
    with served.server:
        body = base64.b64encode(make_jpeg(width=320, height=240))
        for _ in range(3):
            answer = httpx.post(f"{served.server.url}/cams/1?api_key={served.key}", content=body, timeout=60)
            assert answer.status_code == 200, answer.text
        metrics = scrape(served.server.url)
    assert metrics[("framescout_inference_duration_seconds_count", _labels(outcome="ok"))] == 3
    assert 0 < metrics[("framescout_inference_duration_seconds_sum", _labels(outcome="ok"))] < 30
    labels = _labels(method="POST", route="/{project}/{version}", status="200")
    assert metrics[("framescout_http_requests_total", labels)] == 3
