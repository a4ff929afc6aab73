"""Routing in the collector: each kept frame goes to its rule's project and batch on a real server, the
batch names follow the frame's own time across midnight (a manual clock), continuations are counted
across restarts, and a destination the server does not have holds the frame instead of dropping it."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
import pytest

from framescout.client import Client
from framescout.collector import Collector, Spool
from framescout.collector.batches import FILE_NAME
from framescout.collector.record import FrameRecord
from framescout.predictions import Predictions
from framescout.sampling import ManualClock, parse_config
from framescout.server.process import ServerProcess

RULES = parse_config(
    {
        "rules": [
            {
                "name": "low-30",
                "type": "confidence",
                "below": 0.3,
                "project": "project-b",
                "batch": {"prefix": "night-cams", "recreate": "daily", "max_images": 2},
            },
            {"name": "low-50", "type": "confidence", "below": 0.5, "project": "project-c"},
            {"name": "empty", "type": "nothing_detected", "batch": {"prefix": "empty"}},
        ]
    }
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    server = ServerProcess(tmp_path_factory.mktemp("routing") / "server")
    key = server.create_key("acme")
    for project in ("cams", "project-b", "project-c"):
        server.cli("projects", "create", f"acme/{project}")
    with server:
        yield server, key


def image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)


def scored(confidence: float | None) -> Predictions:
    if confidence is None:
        return Predictions.from_arrays(np.zeros((0, 4)), [], [], class_name=[])
    return Predictions.from_arrays([[4, 4, 20, 20]], [confidence], [0], class_name=["car"])


def batches(server: ServerProcess, key: str, project: str) -> dict[str, int]:
    """The project's batches and their image counts, as the server's batches route lists them."""
    answer = httpx.get(
        f"{server.url}/api/v1/projects/acme/{project}/batches", headers={"Authorization": f"Bearer {key}"}
    )
    answer.raise_for_status()
    return {b["name"]: b["images"] for b in answer.json()}


def rules_in(client: Client, project: str) -> Counter[str]:
    return Counter(im["sampling_rule"] for im in client.iter_images(f"acme/{project}"))


def observe_all(collector: Collector, clock: ManualClock, frames: list[tuple[str, float | None]]) -> None:
    """Each frame at the manual clock's time, the clock one second on after each."""
    for seed, (_, confidence) in enumerate(frames):
        collector.observe(image(int(clock.now) + seed), scored(confidence), timestamp=clock.now)
        clock.advance(1.0)


def test_each_rule_sends_its_frames_to_its_project_and_dated_batch(
    live: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, key = live
    clock = ManualClock(datetime.fromisoformat("2026-12-01T23:59:58+00:00").timestamp())
    spool = tmp_path / "spool"
    options = {"server": server.url, "api_key": key, "project": "acme/cams", "spool_dir": spool}
    # 23:59:58 and :59 on 1 December, then 00:00:00 ... on 2 December: five low-30 frames (two per
    # batch), one low-50 (the collector's --batch) and one empty frame (its own undated batch).
    frames = [("b", 0.2), ("b", 0.1), ("b", 0.25), ("c", 0.4), ("b", 0.2), ("e", None), ("b", 0.15)]
    with Collector(rules=RULES, batch="cli-batch", **options) as collector:  # type: ignore[arg-type]
        observe_all(collector, clock, frames)
        assert collector.flush(timeout=30)
        status = collector.status()
    kept = {rule: counts["kept"] for rule, counts in status["rules"].items() if counts["kept"]}
    assert kept == {"low-30": 5, "low-50": 1, "empty": 1}
    with Client(server.url, key) as client:
        assert batches(server, key, "project-b") == {
            "night-cams-2026-12-01": 2,
            "night-cams-2026-12-02": 2,
            "night-cams-2026-12-02-2": 1,
        }
        assert rules_in(client, "project-b") == {"low-30": 5}
        assert batches(server, key, "project-c") == {"cli-batch": 1} and rules_in(client, "project-c") == {
            "low-50": 1
        }
        assert batches(server, key, "cams") == {"empty": 1} and rules_in(client, "cams") == {"empty": 1}
    counts = json.loads((spool / FILE_NAME).read_text())["counts"]
    assert counts == {"project-b/night-cams-2026-12-01": 2, "project-b/night-cams-2026-12-02": 3, "/empty": 1}

    # A restart continues the numbering from the saved counts: the 4th frame of 2 December fills -2,
    # the 5th opens -3.
    with Collector(rules=RULES, **options) as collector:  # type: ignore[arg-type]
        observe_all(collector, clock, [("b", 0.2), ("b", 0.2)])
        assert collector.flush(timeout=30)
    with Client(server.url, key) as client:
        assert batches(server, key, "project-b") == {
            "night-cams-2026-12-01": 2,
            "night-cams-2026-12-02": 2,
            "night-cams-2026-12-02-2": 2,
            "night-cams-2026-12-02-3": 1,
        }


def test_a_destination_the_server_lacks_holds_its_frames_while_the_others_go(
    live: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    """A project deleted (or never made) after ``collect`` checked it: its uploads answer 404, its
    frames stay in the spool (not dropped, not quarantined), frames for the other projects still go,
    and once the project exists its frames go too."""
    server, key = live
    rules = parse_config(
        {
            "rules": [
                {"name": "low", "type": "confidence", "below": 0.3, "project": "later"},
                {"name": "rest", "type": "confidence", "below": 1.0, "project": "project-c"},
            ]
        }
    )
    with Collector(
        server=server.url, api_key=key, project="acme/cams", rules=rules, spool_dir=tmp_path / "spool"
    ) as collector:
        for seed, confidence in enumerate((0.1, 0.2, 0.6, 0.7)):
            collector.observe(image(100 + seed), scored(confidence), timestamp=1764633600.0 + seed)
        assert not collector.flush(timeout=5)
        status = collector.status()
        assert status["rules"]["rest"]["uploaded"] == 2  # the other destination was not held up
        assert status["rules"]["low"]["uploaded"] == 0 and len(collector.spool) == 2
        assert status["uploader"]["state"] != "paused"
        assert status["uploader"]["held"]["later"]["status"] == 404
        assert status["uploader"]["held"]["later"]["code"] == "project_not_found"
        assert status["spool"]["quarantined"] == 0
        server.cli("projects", "create", "acme/later")
        deadline = time.monotonic() + 60
        while len(collector.spool) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(collector.spool) == 0
        status = collector.status()
        assert status["rules"]["low"]["uploaded"] == 2 and status["uploader"]["held"] == {}
    with Client(server.url, key) as client:
        assert rules_in(client, "later") == {"low": 2}


def test_routed_records_round_trip_and_old_records_route_nowhere(tmp_path: Path) -> None:
    routed = FrameRecord(sampling_rule="low-30", project="project-b", batch="night-cams-2026-12-01")
    assert FrameRecord.from_json(routed.to_json()) == routed
    plain = FrameRecord(sampling_rule="low")
    assert "project" not in plain.to_json() and "batch" not in plain.to_json()  # as earlier releases
    old = FrameRecord.from_json({"rule": "low", "reason": "r", "name": "a.jpg"})
    assert (old.project, old.batch) == (None, None)
    spool = Spool(tmp_path / "spool")
    spool.put(b"x", routed.to_json(), rule="low-30")
    assert spool.due()[0].record == routed
    spool.close()
