"""`FrameRecord`, the collector's spool metadata: its JSON is the one collectors have always written,
its reader takes any release's spool, and a spool written by the previous release (a plain dict of
string keys) still uploads every field (real spool, real server process, ``framescout spool push``)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from framescout.client import Client
from framescout.collector import Collector, Spool
from framescout.collector.record import FrameRecord
from framescout.predictions import Predictions
from framescout.sampling import ConfidenceBelow, Sampler
from framescout.server.process import ServerProcess
from helpers import framescout

PREVIOUS_RELEASE: dict[str, Any] = {
    "rule": "low",
    "reason": "confidence 0.20 < 0.4",
    "tags": ["low-confidence"],
    "model_version": "v1",
    "device_id": "cam-7",
    "name": "old-0.jpg",
    "metadata": {"observed_at": 1764547200.0, "rule_kind": "confidence_below"},
    "predictions": {
        "predictions": [
            {
                "x": 20.0,
                "y": 15.0,
                "width": 20.0,
                "height": 10.0,
                "confidence": 0.2,
                "class": "car",
                "class_id": 0,
            }
        ],
        "image": {"width": 80, "height": 60},
    },
    "width": 80,
    "height": 60,
}
"""An entry's ``meta`` exactly as the collector wrote it before `FrameRecord` (release 0.x)."""


def jpeg(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG")
    return out.getvalue()


def test_the_json_keeps_the_keys_collectors_always_wrote() -> None:
    record = FrameRecord.from_json(PREVIOUS_RELEASE)
    assert (record.sampling_rule, record.sampling_reason, record.tags) == (
        "low",
        "confidence 0.20 < 0.4",
        ("low-confidence",),
    )
    assert (record.width, record.height, record.extra) == (80, 60, {})
    assert record.to_json() == PREVIOUS_RELEASE


def test_the_reader_tolerates_missing_unknown_and_renamed_keys() -> None:
    sparse = FrameRecord.from_json({"name": "n.jpg"}, rule="random")
    assert (sparse.sampling_rule, sparse.name, sparse.tags, sparse.metadata, sparse.predictions) == (
        "random",
        "n.jpg",
        (),
        {},
        None,
    )
    later = FrameRecord.from_json(
        {"sampling_rule": "quota", "tags": "one", "camera_angle": 30, "metadata": 5}
    )
    assert (later.sampling_rule, later.tags, later.metadata) == ("quota", ("one",), {})
    assert later.extra == {"camera_angle": 30} and later.to_json()["camera_angle"] == 30


def test_the_collector_spools_a_record_the_reader_reads_back(tmp_path: Path) -> None:
    low = Predictions.from_arrays([[0, 0, 10, 10]], [0.1], [0], class_name=["x"])
    with Collector(
        rules=Sampler([ConfidenceBelow(0.4, name="low", tags=["t"])]),
        spool_dir=tmp_path / "spool",
        device_id="cam-1",
        model_version="m2",
    ) as collector:
        collector.observe(np.zeros((60, 80, 3), np.uint8), low, name="f0", timestamp=1764547200.0)
        collector.flush()
        record = collector.spool.due()[0].record
    assert (record.sampling_rule, record.tags, record.device_id, record.model_version, record.name) == (
        "low",
        ("t",),
        "cam-1",
        "m2",
        "f0",
    )
    assert record.metadata == {"observed_at": 1764547200.0, "rule_kind": "confidence_below"}
    assert record.predictions is not None and record.predictions["image"] == {"width": 80, "height": 60}


def test_a_spool_written_by_the_previous_release_still_uploads(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.put(jpeg(0), PREVIOUS_RELEASE, rule="low", priority=1)
    spool.put(jpeg(1), {"name": "old-1.jpg", "rule": "random", "future_key": [1]}, rule="random")
    spool.close()
    server = ServerProcess(tmp_path / "server")
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/cams")
    with server:
        pushed = framescout(
            "spool", "push", "--server", server.url, "--api-key", key, "--project", "acme/cams",
            "--spool", str(tmp_path / "spool"),
        )  # fmt: skip
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
        with Client(server.url, key) as client:
            images = {im["name"]: im for im in client.iter_images("acme/cams")}
            assert set(images) == {"old-0.jpg", "old-1.jpg"}
            old = client.get_image("acme/cams", images["old-0.jpg"]["id"])
    assert (old["sampling_rule"], old["sampling_reason"], old["tags"]) == (
        "low",
        "confidence 0.20 < 0.4",
        ["low-confidence"],
    )
    assert (old["model_version"], old["device_id"], old["source"]) == ("v1", "cam-7", "collector")
    assert old["metadata"] == PREVIOUS_RELEASE["metadata"]
    boxes = [
        (a["kind"], a["class_name"], a["x_min"], a["y_min"], a["x_max"], a["y_max"])
        for a in old["annotations"]
    ]
    assert boxes == [("prediction", "car", 10.0, 10.0, 30.0, 20.0)]
    assert images["old-1.jpg"]["sampling_rule"] == "random"
    assert Spool(tmp_path / "spool").stats()["entries"] == 0
