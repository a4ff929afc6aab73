"""Labels choose the deployment, end to end (real processes, the real NanoDet-m): with version 1
deployed to every device and version 2 to ``--labels site=north``, ``framescout collect --labels
site=north --model server`` runs version 2 and a ``site=south`` device runs version 1; the devices list
(their heartbeats) reports the version each one runs, with its labels, as do their kept frames."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import require_shared
from fleet_models import Fleet, start_fleet
from framescout.client import Client

pytestmark = pytest.mark.slow
pytest.importorskip("onnx", reason="the onnx package (a dev dependency) makes the version-2 file")

RULES = """\
version: 1
rules:
  - name: below-schedule
    type: threshold_schedule
    schedule: {"1": 0.30, "2": 0.60}
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, nanodet_path: Path) -> Iterator[Fleet]:
    fleet = start_fleet(tmp_path_factory.mktemp("labels-rollout"), nanodet_path, versions=2)
    try:
        yield fleet
    finally:
        fleet.server.stop()


def start_collect(fleet: Fleet, video: Path, root: Path, device: str, label: str) -> subprocess.Popen[str]:
    """A real ``framescout collect --model server`` over a few frames of ``video`` as ``device``."""
    rules = root / f"{device}.yaml"
    rules.write_text(RULES)
    command = [
        sys.executable, "-m", "framescout", "collect", "--source", str(video), "--max-frames", "12",
        "--every", "3", "--model", "server", "--model-cache", str(root / f"{device}-models"),
        "--rules", str(rules), "--server", fleet.server.url, "--api-key", fleet.key,
        "--project", fleet.project, "--spool", str(root / f"{device}-spool"), "--device-id", device,
        "--labels", label, "--labels", "mount=pole", "--heartbeat-interval", "0.5", "--drain-timeout", "60",
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0 and "Traceback" not in err, out + err
    return " ".join(out.split())


def test_a_labelled_deployment_reaches_only_the_devices_with_its_labels(fleet: Fleet, tmp_path: Path) -> None:
    videos = require_shared(Path(__file__).parents[2].parent / "shared/data/videos")
    fleet.deploy(1)
    said = fleet.deploy(2, "site=north")
    assert "deployed acme/cams version 2 to site=north" in " ".join(said.split())
    north = start_collect(fleet, videos / "people.mp4", tmp_path, "cam-north", "site=north")
    south = start_collect(fleet, videos / "soccer.mp4", tmp_path, "cam-south", "site=south")
    north_said, south_said = finished(north), finished(south)
    assert "model: version 2 of acme/cams from the server" in north_said, north_said
    assert "model: version 1 of acme/cams from the server" in south_said, south_said
    assert "version 2" not in south_said, south_said

    with Client(fleet.server.url, api_key=fleet.key) as client:
        devices = {d["device_id"]: d for d in client.list_devices(fleet.project)}
        north_only = [d["device_id"] for d in client.list_devices(fleet.project, {"site": "north"})]
        kept = {
            device: {image["model_version"] for image in client.iter_images(fleet.project, device_id=device)}
            for device in devices
        }
    assert north_only == ["cam-north"]
    assert devices["cam-north"]["labels"] == {"site": "north", "mount": "pole"}
    assert devices["cam-south"]["labels"] == {"site": "south", "mount": "pole"}
    assert (devices["cam-north"]["model_version"], devices["cam-south"]["model_version"]) == ("2", "1")
    assert kept == {"cam-north": {"2"}, "cam-south": {"1"}}  # their kept frames say so too
    assert all(d["stopped"] and d["counters"]["seen"] == 12 for d in devices.values()), devices
