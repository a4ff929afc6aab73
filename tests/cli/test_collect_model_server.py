"""``framescout collect --model server`` over a long video while the deployment changes under it (real
processes, the real NanoDet-m): a corrupt version-3 download is refused and version 1 keeps running;
after version 2 is deployed the collector switches, and every frame it keeps from then on carries
version 2 and was kept by version 2's threshold. Labels choose the deployment: a deployment to
``--labels site=north`` reaches ``collect --labels site=north`` and not a ``site=south`` device, and
the devices list (their heartbeats) and their kept frames report the version each one runs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import require_shared
from fleet_models import Fleet, start_fleet
from framescout.client import Client
from framescout.server.process import free_port
from helpers import framescout

pytestmark = pytest.mark.slow
pytest.importorskip("onnx", reason="the onnx package (a dev dependency) makes the version-2 file")

RULES = """\
version: 1
rules:
  - name: below-schedule
    type: threshold_schedule
    schedule: {"1": 0.30, "2": 0.60}
"""


def long_video(source: Path, target: Path, loops: int = 6) -> Path:
    """``source`` downscaled and repeated ``loops`` times (a minute of video at 24 fps)."""
    import cv2

    capture = cv2.VideoCapture(str(source))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(cv2.resize(image, (480, 270)))
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter.fourcc(*"mp4v"), 24.0, (480, 270))
    for _ in range(loops):
        for image in frames:
            writer.write(image)
    writer.release()
    return target


class Lines:
    """A child's output stream read line by line on a thread, to wait for what it says."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(line)

    def wait_for(self, text: str, process: subprocess.Popen[str], timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((line for line in self.lines if text in line), None)
            if found is not None:
                return found
            if process.poll() is not None:
                self._thread.join(timeout=5)
                break
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} in: {''.join(self.lines)}")

    def text(self) -> str:
        self._thread.join(timeout=10)
        return " ".join("".join(self.lines).split())


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, nanodet_path: Path) -> Iterator[Fleet]:
    fleet = start_fleet(tmp_path_factory.mktemp("collect-rollout"), nanodet_path, versions=3)
    fleet.corrupt(3)  # its registered hash stays; the bytes the server sends do not match it
    try:
        yield fleet
    finally:
        fleet.server.stop()


def test_collect_switches_when_the_deployment_changes(fleet: Fleet, tmp_path: Path) -> None:
    video = long_video(
        require_shared(Path(__file__).parents[2].parent / "shared/data/videos/people.mp4"),
        tmp_path / "long.mp4",
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    fleet.deploy(1)
    command = [
        sys.executable, "-m", "framescout", "collect", "--source", str(video), "--fps", "4",
        "--model", "server", "--model-interval", "0.5", "--model-cache", str(tmp_path / "models"),
        "--rules", str(rules), "--server", fleet.server.url, "--api-key", fleet.key,
        "--project", fleet.project, "--spool", str(tmp_path / "spool"), "--drain-timeout", "60",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = Lines(process.stdout), Lines(process.stderr)
    try:
        out.wait_for("model: version 1 of acme/cams from the server", process)
        fleet.deploy_at_once(3)
        err.wait_for("version 3 refused", process)
        fleet.deploy_at_once(2)
        out.wait_for("model: now running version 2", process)
        assert process.wait(timeout=600) == 0, out.text() + err.text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    said, warned = out.text(), err.text()
    assert "Traceback" not in warned, warned
    assert "SHA-256" in warned and "version 1 keeps running" in warned
    assert "model: ran version 2 last, switched 1 time(s); refused" in said

    with Client(fleet.server.url, api_key=fleet.key) as client:
        images = list(client.iter_images(fleet.project))
    assert images, said
    by_time = sorted(images, key=lambda image: image["metadata"]["observed_at"])
    versions = [image["model_version"] for image in by_time]
    assert set(versions) == {"1", "2"}, versions  # frames before and after the switch; none by 3
    first_two = versions.index("2")
    assert all(v == "1" for v in versions[:first_two]) and all(v == "2" for v in versions[first_two:])
    for image in by_time:
        version = image["model_version"]
        threshold = {"1": "0.30", "2": "0.60"}[version]
        assert image["sampling_rule"] == "below-schedule"
        assert f"below {threshold}, the threshold for model version {version}" in image["sampling_reason"]


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
        ours = ("cam-north", "cam-south")  # the module's other runs are devices too (the hostname)
        devices = {d["device_id"]: d for d in client.list_devices(fleet.project) if d["device_id"] in ours}
        north_only = [d["device_id"] for d in client.list_devices(fleet.project, {"site": "north"})]
        kept = {
            device: {image["model_version"] for image in client.iter_images(fleet.project, device_id=device)}
            for device in ours
        }
    assert north_only == ["cam-north"]
    assert devices["cam-north"]["labels"] == {"site": "north", "mount": "pole"}
    assert devices["cam-south"]["labels"] == {"site": "south", "mount": "pole"}
    assert (devices["cam-north"]["model_version"], devices["cam-south"]["model_version"]) == ("2", "1")
    assert kept == {"cam-north": {"2"}, "cam-south": {"1"}}  # their kept frames say so too
    assert all(d["stopped"] and d["counters"]["seen"] == 12 for d in devices.values()), devices


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ((), "error: --model server needs --server, --api-key and --project WORKSPACE/PROJECT"),
        (
            ("--model-version", "7"),
            "error: --model-version: with --model server they come from the deployed model",
        ),
        ((), "error: no model to run: the server is unreachable"),
    ],
    ids=["no-server", "own-version", "offline-and-nothing-cached"],
)
def test_collect_model_server_refusals_are_one_line(
    tmp_path: Path, extra: tuple[str, ...], expected: str
) -> None:
    video = require_shared(Path(__file__).parents[2].parent / "shared/data/videos/soccer.mp4")
    server = (
        ()
        if "needs" in expected
        else ("--server", f"http://127.0.0.1:{free_port()}", "--api-key", "k", "--project", "acme/cams")
    )
    done = framescout(
        "collect", "--source", str(video), "--model", "server", "--model-cache", str(tmp_path / "cache"),
        "--spool", str(tmp_path / "spool"), *server, *extra,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expected in errors[0], done.stderr
    assert "frame(s) seen" not in done.stdout
