"""Nothing one request does can stall the others: a real ``framescout serve`` process with 1 worker.

`/healthz` keeps answering in under a second while 100 slow-drip URL fetches and a 10^5-box
annotation upload are in flight; uploads keep succeeding while a large class-learning annotation
request runs (no ``database is locked``)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from framescout.server.process import ServerProcess
from framescout.store import Store
from framescout.store.accounts import get_or_create_workspace, get_project

DEADLINE = 3.0
DRIPS = 100
PROBE_EVERY = 0.2


class Server:
    def __init__(self, process: ServerProcess, key: str) -> None:
        self.process, self.key = process, key
        self.url = process.url
        self.auth = {"Authorization": f"Bearer {key}"}

    def images(self, project: str) -> str:
        return f"{self.url}/api/v1/projects/acme/{project}/images"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = Path(tmp_path_factory.mktemp("no-stall")) / "data"
    env = {"FRAMESCOUT_FETCH_ALLOW": "127.0.0.1", "FRAMESCOUT_FETCH_TIMEOUT": str(DEADLINE)}
    process = ServerProcess(data, workers=1, env=env)
    key = process.create_key("acme")
    process.cli("projects", "create", "acme/load")
    process.cli("projects", "create", "acme/learn")
    # A project that already has 8,000 learnt classes (a non-strict project, as annotation uploads grow one).
    store = Store.open(data)
    with store.db.writing() as session:
        project = get_project(session, get_or_create_workspace(session, "acme"), "learn")
        project.classes = [f"old-{i}" for i in range(8_000)]
    store.close()
    with process:
        yield Server(process, key)


def _upload(server: Server, project: str, data: bytes, **fields: str) -> httpx.Response:
    files = {"file": ("frame.jpg", data, "image/jpeg")}
    return httpx.post(server.images(project), headers=server.auth, files=files, data=fields, timeout=60)


class Probe:
    """Polls ``/healthz`` every `PROBE_EVERY` s in a thread; records each answer's latency."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    ok = client.get(f"{self.url}/healthz").status_code == 200
                    if not ok:
                        self.failures.append("non-200")
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self.latencies.append(time.monotonic() - started)
                self._stop.wait(PROBE_EVERY)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _boxes_yolo(count: int) -> str:
    return "\n".join(f"{i % 50} 0.5 0.5 0.1 0.1" for i in range(count))


def test_healthz_answers_while_slow_fetches_and_a_huge_annotation_are_in_flight(
    server: Server, trick_host: Any, make_jpeg: Callable[..., bytes]
) -> None:
    target = _upload(server, "load", make_jpeg(640, 480, seed=1))
    assert target.status_code == 201, target.text
    image_id = target.json()["id"]
    drip = f"{trick_host.url}/drip?every=2&n=1000"  # a byte every 2 s: no per-read timeout ever fires

    # One client for the 100 requests (a new client per request would load the CA bundle 100 times in
    # this process and skew the timings measured here).
    client = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=DRIPS + 10))

    def slow_upload(_: int) -> tuple[int, str, float]:
        started = time.monotonic()
        response = client.post(server.images("load"), headers=server.auth, data={"url": drip})
        return response.status_code, response.json()["error"]["code"], time.monotonic() - started

    def huge_annotation() -> tuple[int, str, float]:
        started = time.monotonic()
        response = httpx.post(
            f"{server.images('load')}/{image_id}/annotations",
            headers={**server.auth, "Content-Type": "text/plain"},
            params={"format": "yolo", "labelmap": ",".join(f"c{i}" for i in range(50))},
            content=_boxes_yolo(100_000),
            timeout=60,
        )
        return (
            response.status_code,
            response.json().get("error", {}).get("code", ""),
            time.monotonic() - started,
        )

    started = time.monotonic()
    with Probe(server.url) as probe, ThreadPoolExecutor(max_workers=DRIPS + 1) as pool:
        time.sleep(0.5)  # a few probes before the load
        slow = [pool.submit(slow_upload, i) for i in range(DRIPS)]
        annotation = pool.submit(huge_annotation)
        results = [f.result(timeout=60) for f in slow]
        huge = annotation.result(timeout=60)
        time.sleep(0.5)
    total = time.monotonic() - started
    client.close()

    assert not probe.failures, probe.failures
    assert len(probe.latencies) >= (DEADLINE / PROBE_EVERY) / 2, probe.latencies  # probed throughout
    assert max(probe.latencies) < 1.0, sorted(probe.latencies)[-5:]
    assert {(status, code) for status, code, _ in results} == {(422, "fetch_failed")}
    # Every fetch, queued behind the per-process bound or not, ends at its total deadline.
    assert max(elapsed for *_, elapsed in results) < DEADLINE + 3.0, max(e for *_, e in results)
    status, code, elapsed = huge
    assert (status, code) == (422, "too_many_boxes") and elapsed < 10, huge
    assert total < 30, total
    print(
        f"healthz: {len(probe.latencies)} probes, max {max(probe.latencies) * 1000:.0f} ms; slow fetches "
        f"ended in {min(e for *_, e in results):.2f}-{max(e for *_, e in results):.2f} s; 10^5-box "
        f"annotation refused in {elapsed:.2f} s; whole test {total:.1f} s"
    )


def test_uploads_succeed_while_a_large_class_learning_request_runs(
    server: Server, make_jpeg: Callable[..., bytes]
) -> None:
    base = _upload(server, "learn", make_jpeg(640, 480, seed=2))
    assert base.status_code == 201, base.text
    image_id = base.json()["id"]
    # 1,000 boxes teaching 1,000 new classes (the per-request cap) to a project that has 8,000.
    items = [
        {"x": 20 + i % 600, "y": 20 + i % 440, "width": 10, "height": 10, "class": f"new-{i}"}
        for i in range(1_000)
    ]
    content = json.dumps({"predictions": items})

    def learn() -> tuple[int, str, float]:
        started = time.monotonic()
        response = httpx.post(
            f"{server.images('learn')}/{image_id}/annotations",
            headers={**server.auth, "Content-Type": "text/plain"},
            params={"format": "roboflow"},
            content=content,
            timeout=60,
        )
        return response.status_code, response.text, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=13) as pool:
        learning = pool.submit(learn)
        uploads = [pool.submit(_upload, server, "learn", make_jpeg(seed=100 + i)) for i in range(12)]
        answers = [f.result(timeout=60) for f in uploads]
        status, text, elapsed = learning.result(timeout=60)
    assert [a.status_code for a in answers] == [201] * 12, [a.text for a in answers if a.status_code != 201]
    assert status == 201 and json.loads(text)["count"] == 1_000, text
    assert elapsed < 10, elapsed
    print(f"1,000 new classes learnt (8,000 → 9,000) in {elapsed:.2f} s beside 12 uploads")

    project = httpx.get(f"{server.url}/acme/learn", params={"api_key": server.key}, timeout=30).json()
    assert len(project["project"]["classes"]) == 9_000

    # One box over the per-image cap (which is also the most new classes one request can carry): a
    # clear 422 before any per-box work, and nothing changed.
    too_many = [{**item, "class": f"more-{i}"} for i, item in enumerate(items + items[:1])]
    refused = httpx.post(
        f"{server.images('learn')}/{image_id}/annotations",
        headers={**server.auth, "Content-Type": "text/plain"},
        params={"format": "roboflow", "overwrite": "true"},
        content=json.dumps({"predictions": too_many}),
        timeout=60,
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "too_many_boxes"
    listed = httpx.get(f"{server.images('learn')}/{image_id}/annotations", headers=server.auth, timeout=30)
    assert {a["class_name"] for a in listed.json()} == {f"new-{i}" for i in range(1_000)}
