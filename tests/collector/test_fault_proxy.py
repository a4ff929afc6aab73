"""The real `framescout collect` CLI, a real video and the real NanoDet-m model, uploading through a
fault-injecting proxy to a real server: for each fault, once it clears, every kept frame is on the
server exactly once or in the quarantine with the server's reason, and the exit code says which."""

from __future__ import annotations

import re
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fault_proxy import FaultProxy, Window
from framescout.client import Client
from framescout.collector import Spool
from framescout.server.process import ServerProcess
from helpers import framescout

EVERY, FRAMES = 12, 16
KEPT = {f"frame-{EVERY * i:06d}" for i in range(FRAMES)}  # the rules below keep every frame
RULES = """
version: 1
rules:
  - {name: low-confidence, type: confidence, below: 0.5, tags: [low-confidence]}
  - {name: everything-else, type: random, probability: 1.0}
"""


@dataclass
class Rig:
    server: ServerProcess
    proxy: FaultProxy
    key: str
    model: Path
    rules: Path
    video: Path


def kill_and_restart(server: ServerProcess) -> None:
    """SIGKILL the server process (no shutdown at all), then start it again on the same data dir and
    port a second later, as a supervisor would."""
    process = server._proc  # the real child process: killed the way a power cut would
    assert process is not None
    process.send_signal(signal.SIGKILL)
    process.wait()

    def restart() -> None:
        threading.Event().wait(1.0)
        server.start()

    threading.Thread(target=restart, daemon=True).start()


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, nanodet_path: Path, coco_tiny: Path) -> Iterator[Rig]:
    video = coco_tiny.parent / "videos" / "people.mp4"
    if not video.exists():
        pytest.skip(f"needs {video} (the ../shared data folder beside the project); not present here")
    data = tmp_path_factory.mktemp("proxy-server")
    server = ServerProcess(data / "server")
    key = server.create_key("acme")
    rules = data / "rules.yaml"
    rules.write_text(RULES)
    with server:
        proxy = FaultProxy(server.port, on_kill=lambda: kill_and_restart(server))
        try:
            yield Rig(server, proxy, key, nanodet_path, rules, video)
        finally:
            proxy.close()


# fault, window, expected exit code. Config errors last a few seconds (the uploader pauses and
# probes); frame rejections hit exactly three uploads; transient faults a few requests.
CASES = {
    "401": (Window("401", after=3, seconds=4.0), 0),
    "403": (Window("403", after=3, seconds=4.0), 0),
    "404": (Window("404", after=3, seconds=4.0), 0),
    "413": (Window("413", after=3, count=3), 4),
    "422": (Window("422", after=3, count=3), 4),
    "500": (Window("500", after=3, count=3), 0),
    "501": (Window("501", after=3, count=3), 0),
    "507": (Window("507", after=3, count=3), 0),
    "200-text-html": (Window("html", after=3, count=3), 0),
    "301": (Window("301", after=3, count=3), 0),
    "stall-35s": (Window("stall", after=3, count=1), 0),
    "dropped-connection": (Window("drop", after=3, count=2), 0),
    "server-killed-9": (Window("kill", after=3, count=1), 0),
}


def collect(rig: Rig, project: str, spool: Path) -> tuple[int, str]:
    done = framescout(
        "collect",
        "--source", str(rig.video), "--every", str(EVERY), "--max-frames", str(FRAMES),
        "--model", str(rig.model), "--classes", str(rig.model.parent / "coco.names"),
        "--rules", str(rig.rules), "--max-side", "640",
        "--server", rig.proxy.url, "--api-key", rig.key, "--project", project,
        "--spool", str(spool), "--drain-timeout", "120",
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("case", list(CASES))
def test_every_kept_frame_arrives_once_or_is_quarantined(case: str, rig: Rig, tmp_path: Path) -> None:
    window, expected = CASES[case]
    project = f"acme/{case}"
    rig.server.cli("projects", "create", project)
    rig.proxy.arm(window)
    spool = tmp_path / "spool"
    code, output = collect(rig, project, spool)
    rig.proxy.wait_idle(timeout=60)  # a stalled upload is forwarded late: let it land first
    rig.proxy.arm(None)
    assert window.faulted, f"the {case} fault was never injected"

    with Client(rig.server.url, rig.key) as client:
        on_server = Counter(image["name"] for image in client.iter_images(project))
    store = Spool(spool)
    held = store.quarantined()
    stats = store.stats()
    store.close()
    quarantined = Counter(q.meta["name"] for q in held)

    assert code == expected, output
    assert f"{FRAMES} frame(s) seen, {FRAMES} kept" in output
    assert all(n == 1 for n in on_server.values()), f"duplicated on the server: {on_server}"
    assert not set(on_server) & set(quarantined), "a frame is both on the server and quarantined"
    assert set(on_server) | set(quarantined) == KEPT, "a kept frame was lost"
    assert stats["entries"] == 0
    if expected == 4:
        status = int(window.fault)
        assert sorted(quarantined) == sorted(window.faulted) and len(held) == 3
        assert {(q.status, q.code, q.message) for q in held} == {
            (status, f"injected_{status}", f"the proxy answered {status}")
        }
        assert "3 quarantined" in output and "spool quarantine list" in output
        # the operator fixed the cause: retry uploads them through the same proxy, now clean
        retry = framescout(
            "spool", "quarantine", "retry", "--spool", str(spool),
            "--server", rig.proxy.url, "--api-key", rig.key, "--project", project,
        )  # fmt: skip
        assert retry.returncode == 0, retry.stdout + retry.stderr
        with Client(rig.server.url, rig.key) as client:
            names = Counter(image["name"] for image in client.iter_images(project))
        assert names == Counter(dict.fromkeys(KEPT, 1))
    else:
        assert not held and on_server == Counter(dict.fromkeys(KEPT, 1))
        assert "0 quarantined" in output
        retries = re.search(r"uploads retried (\d+) time\(s\), paused (\d+) time\(s\)", output)
        assert retries, output
        retried, paused = int(retries.group(1)), int(retries.group(2))
        if window.fault in ("401", "403", "404"):  # paused (not retried per frame), said why, resumed
            assert paused >= 1 and retried == 0, output
            assert f"upload paused, the spool is kept: {window.fault} injected_{window.fault}" in output
            assert "upload resumed" in output
        else:  # the stall: the 30 s upload timeout fired and the frame was sent again
            assert retried >= 1 and paused == 0, output
        if window.fault == "drop":  # the server had stored the frame whose answer was lost
            assert re.search(r"[1-9]\d* already on the server \(duplicates\)", output), output
