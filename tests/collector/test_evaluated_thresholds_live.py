"""``from: evaluation`` end to end, over a real server process: frames of model version 2 reviewed so
that its F1-optimal threshold is 0.55; a collector running version 2 keeps by 0.55; under a floor of
0.60 (its rules pushed to the server and followed, after a switch from a version the server does not
know) by 0.60; offline from its cache after a restart, and by the fallback for a version it has no
evaluation of; `rules explain` asks the server the same; the dashboard's per-version thresholds name
the source."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from framescout.client import Client
from framescout.collector import Collector
from framescout.collector.rules_sync import RulesSync
from framescout.predictions import Predictions
from framescout.sampling.config import config_from_text
from framescout.server.process import ServerProcess
from framescout.store import Store
from framescout.store.accounts import get_project, get_workspace
from framescout.store.version_stats import model_version_stats
from helpers import framescout

pytestmark = pytest.mark.slow
TARGET = "acme/street"
TRUTH = [10.0, 10.0, 60.0, 60.0]
ELSEWHERE = [100.0, 100.0, 150.0, 150.0]
TRUE_POSITIVES = (0.55, 0.62, 0.7, 0.8, 0.9, 0.95)
FALSE_POSITIVES = (0.3, 0.35, 0.4, 0.45, 0.5, 0.52)
"""On each of six reviewed frames one car, found at a TRUE_POSITIVES confidence, and one box where
there is nothing at a FALSE_POSITIVES one: keeping ≥ 0.55 keeps every hit and no false alarm (F1 1)."""


def rules(floor: float | None = None) -> str:
    lines = ["rules:", "  - name: evidence", "    type: threshold_schedule", "    from: evaluation"]
    lines.append(f"    fallback: {floor or 0.4}")
    if floor is not None:
        lines.append(f"    floor: {floor}")
    return "\n".join(lines) + "\n"


def car(*confidences: float, boxes: list[list[float]] | None = None) -> Predictions:
    return Predictions.from_arrays(
        boxes or [TRUTH] * len(confidences),
        list(confidences),
        [0] * len(confidences),
        class_name=["car"] * len(confidences),
        image_width=200,
        image_height=200,
    )


@dataclass
class Reviewed:
    server: ServerProcess
    key: str


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reviewed]:
    server = ServerProcess(tmp_path_factory.mktemp("thresholds") / "data")
    key = server.create_key("acme")
    server.cli("projects", "create", TARGET)
    with server, Client(server.url, key) as client:
        rng = np.random.default_rng(15)
        for hit, miss in zip(TRUE_POSITIVES, FALSE_POSITIVES, strict=True):
            out = io.BytesIO()
            Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(out, format="PNG")
            found = car(hit, miss, boxes=[TRUTH, ELSEWHERE])
            image_id = client.upload_image(TARGET, out.getvalue(), predictions=found, model_version="2").id
            truth = [{"class": "car", "x_min": 10, "y_min": 10, "x_max": 60, "y_max": 60}]
            client.review_image(TARGET, image_id, truth, reviewer="tester")
        assert client.evaluation(TARGET, "2")["recommended_threshold"] == pytest.approx(0.55)
        yield Reviewed(server, key)


def frame() -> np.ndarray:
    return np.full((64, 64, 3), 90, dtype=np.uint8)


def collector(reviewed: Reviewed, spool: Path, **options: object) -> Collector:
    return Collector(
        server=reviewed.server.url,
        api_key=reviewed.key,
        project=TARGET,
        spool_dir=spool,
        heartbeat_interval=None,
        **options,  # type: ignore[arg-type]
    )


def test_a_collector_running_version_2_keeps_by_its_evaluated_threshold(
    reviewed: Reviewed, tmp_path: Path
) -> None:
    config = config_from_text(rules(), "yaml", "rules")
    with collector(reviewed, tmp_path / "spool", rules=config, model_version="2") as running:
        below = running.observe(frame(), car(0.54))
        assert below.keep and below.reason == (
            "1 box(es) below 0.55, the threshold for model version 2 (evaluation of v2 on 6 reviewed frames)"
        )
        assert not running.observe(frame(), car(0.56)).keep  # the fallback 0.40 would keep neither
        assert running.thresholds_in_force()["evidence"]["threshold"] == pytest.approx(0.55)
        assert running.flush(30)

    # offline: the restarted device holds version 2 to the cached 0.55, version 3 to the fallback
    reviewed.server.stop()
    try:
        with collector(reviewed, tmp_path / "spool", rules=config, model_version="2") as offline:
            assert offline.observe(frame(), car(0.54)).keep
            assert offline.status()["thresholds_sync"]["errors"] >= 1
            offline.model_version = "3"  # what collect --model server does on a switch
            switched = offline.observe(frame(), car(0.39))
            assert switched.keep and switched.reason.endswith("(fallback: no evaluation for v3)")
            assert not offline.observe(frame(), car(0.54)).keep
    finally:
        reviewed.server.start()

    store = Store.open(reviewed.server.data_dir)  # the dashboard's table of model versions
    try:
        with store.db.reading() as session:
            project = get_project(session, get_workspace(session, "acme"), "street")
            stats = {s.version: s for s in model_version_stats(session, project)}
    finally:
        store.close()
    assert "evidence: < 0.55 (evaluation of v2 on 6 reviewed frames)" in stats["2"].thresholds


def test_the_floor_holds_and_server_rules_are_followed(reviewed: Reviewed, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(rules(floor=0.6))
    auth = ("--server", reviewed.server.url, "--api-key", reviewed.key)
    pushed = framescout("rules", "push", TARGET, str(path), *auth)
    assert pushed.returncode == 0, pushed.stderr
    sync = RulesSync(reviewed.server.url, reviewed.key, TARGET, cache_dir=tmp_path / "spool")
    with collector(reviewed, tmp_path / "spool", rules_sync=sync, model_version="9") as running:
        unknown = running.observe(frame(), car(0.58))  # 404 model_version_not_found: the fallback
        assert unknown.keep and unknown.reason.endswith("(fallback: no evaluation for v9)")
        running.model_version = "2"  # a switch: the next frame asks for version 2 in the background
        running.observe(frame(), car(0.9))
        deadline = time.monotonic() + 20
        while not running.thresholds_in_force()["evidence"]["evaluated"] and time.monotonic() < deadline:
            time.sleep(0.05)
        floored = running.observe(frame(), car(0.58))
        assert floored.keep and floored.reason == (
            "1 box(es) below 0.60, the threshold for model version 2 (evaluation of v2 on 6 reviewed "
            "frames, its 0.55 raised to the floor 0.60)"
        )
        assert not running.observe(frame(), car(0.61)).keep

    frames = tmp_path / "frames.json"
    box = {"x": 35, "y": 35, "width": 50, "height": 50, "class": "car"}
    frames.write_text(json.dumps([{"model_version": "2", "predictions": [{**box, "confidence": 0.58}]}]))
    explained = framescout("rules", "explain", str(path), str(frames), "--evaluation-from", TARGET, *auth)
    assert explained.returncode == 0, explained.stderr
    assert (
        "threshold schedule evidence (from evaluation, floor 0.60): 0.60 for 1 frame(s) of model version "
        "2 (evaluation of v2 on 6 reviewed frames, its 0.55 raised to the floor 0.60)"
    ) in " ".join(explained.stdout.split())
