"""`framescout collect` with a server and no ``--rules`` follows the project's server-held rules
(real server and collector processes, a real detector over real video frames): it samples by the
pushed version only, switches between two frames when a new one is pushed (no frame lost or
duplicated, the untouched rules' limits intact), boots offline from the cached version and delivers
later, and keeps the previous version when the pushed one is refused."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from conftest import SHARED, require_shared
from framescout.client import Client
from framescout.collector.rules_sync import CACHE_NAME
from framescout.server.process import ServerProcess
from helpers import framescout

VIDEO = SHARED / "data" / "videos" / "people.mp4"
PROJECT = "acme/cams"


@dataclass
class Live:
    server: ServerProcess
    key: str
    tmp: Path

    def push(self, doc: dict[str, Any], name: str = "rules.yaml") -> str:
        """Push ``doc`` with ``framescout rules push``; return the version's ETag (bare)."""
        path = self.tmp / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        done = framescout(
            "rules", "push", PROJECT, str(path), "--server", self.server.url, "--api-key", self.key
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return self.current_etag()

    def current_etag(self) -> str:
        answer = httpx.get(self.rules_url, headers=self.auth)
        assert answer.status_code == 200, answer.text
        return answer.headers["etag"].strip('"')

    @property
    def rules_url(self) -> str:
        return f"{self.server.url}/api/v1/projects/{PROJECT}/rules"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def images(self) -> list[dict[str, Any]]:
        with Client(self.server.url, self.key) as client:
            return list(client.iter_images(PROJECT))

    def start_collect(self, source: Path, spool: Path, *extra: str) -> subprocess.Popen[str]:
        """``collect`` running in the background, its output piped."""
        command = self.collect(source, spool, *extra)
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def collect(self, source: Path, spool: Path, *extra: str) -> list[str]:
        """The ``collect`` command line, with no --rules."""
        return [
            sys.executable, "-m", "framescout", "collect", "--source", str(source),
            "--model", str(require_shared(SHARED / "models" / "nanodet-m" / "nanodet_m.onnx")),
            "--classes", str(SHARED / "models" / "nanodet-m" / "coco.names"),
            "--server", self.server.url, "--api-key", self.key, "--project", PROJECT,
            "--spool", str(spool), "--rules-interval", "0.3", "--max-side", "320", *extra,
        ]  # fmt: skip


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    server = ServerProcess(tmp_path / "server")
    key = server.create_key("acme")
    server.cli("projects", "create", PROJECT)
    with server:
        yield Live(server, key, tmp_path)


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A long source: 150 distinct small frames of the real video, named in order (f000.jpg, ...)."""
    import cv2

    folder = tmp_path_factory.mktemp("frames")
    capture = cv2.VideoCapture(str(require_shared(VIDEO)))
    index = 0
    while index < 150:
        ok, image = capture.read()
        if not ok:  # 248 frames: loop once the clip ends
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        small = cv2.resize(image, (320, 180))
        small[0, :8] = [[(index >> bit & 1) * 255] * 3 for bit in range(8)]  # distinct bytes per frame
        cv2.imwrite(str(folder / f"f{index:03d}.jpg"), small)
        index += 1
    capture.release()
    return folder


def summary_numbers(out: str) -> dict[str, int]:
    """The counts of the closing line: seen, kept, uploaded (new), duplicates, waiting."""
    text = " ".join(out.split())
    line = text[text.rindex("frame(s) seen") - 12 :]

    def number_before(word: str) -> int:
        return int(line[: line.index(word)].split()[-1])

    return {
        "seen": number_before("frame(s) seen"),
        "kept": number_before("kept"),
        "uploaded": number_before("uploaded to"),
        "duplicates": number_before("already on the server"),
        "waiting": number_before("waiting in the spool"),
    }


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


RULES_A = {
    "seed": 7,
    "rules": [
        {"name": "common", "type": "random", "probability": 1.0, "limits": {"per_hour": 3}},
        {"name": "a-only", "type": "random", "probability": 0.35},
    ],
}
RULES_B = {
    "seed": 7,
    "rules": [
        {"name": "common", "type": "random", "probability": 1.0, "limits": {"per_hour": 3}},
        {"name": "b-only", "type": "random", "probability": 0.35},
    ],
}


def test_collect_over_a_real_video_keeps_frames_by_the_pushed_rules_only(live: Live) -> None:
    etag = live.push(
        {
            "rules": [
                {
                    "name": "a-people",
                    "type": "classes_present",
                    "any_of": ["person"],
                    "limits": {"per_minute": 4},
                },
                {"name": "a-sure", "type": "confidence", "between": [0.6, 1.0]},
            ]
        }
    )
    spool = live.tmp / "spool"
    done = subprocess.run(
        live.collect(require_shared(VIDEO), spool, "--every", "8"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"server version {etag[:12]}" in " ".join(done.stdout.split())
    counts = summary_numbers(done.stdout)
    rules = Counter(image["sampling_rule"] for image in live.images())
    assert set(rules) == {"a-people", "a-sure"}  # A's rules only: nothing by the built-in stack
    assert rules["a-people"] == 4  # the video's own time: 10 s of it, 4 per minute
    assert sum(rules.values()) == counts["kept"] == counts["uploaded"]
    cached = json.loads((spool / CACHE_NAME).read_text())
    assert (cached["etag"], cached["project"]) == (etag, PROJECT)


def test_rules_pushed_mid_run_apply_from_one_frame_on_and_lose_or_repeat_nothing(
    live: Live, frames: Path
) -> None:
    """A second collector over a long source (150 frames, a few per second on the real detector):
    B is pushed once A's frames reach the server."""
    live.push(RULES_A)
    spool = live.tmp / "spool"
    with live.start_collect(frames, spool, "--drain-timeout", "60") as proc:
        wait_for(lambda: sum(i["sampling_rule"] == "a-only" for i in live.images()) >= 2, "A's first frames")
        assert proc.poll() is None, "the source ended before B was pushed"
        etag_b = live.push(RULES_B, "b.yaml")
        out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err
    assert f"rules: server version {etag_b[:12]} in force at the end" in " ".join(out.split())
    with Client(live.server.url, live.key) as client:
        (device,) = client.list_devices(PROJECT)
    assert device["rules_etag"] == etag_b  # the heartbeat reports the version in force
    counts = summary_numbers(out)
    images = live.images()
    by_rule: dict[str, list[int]] = {}
    for image in images:
        by_rule.setdefault(image["sampling_rule"], []).append(int(image["name"][1:4]))
    assert set(by_rule) == {"common", "a-only", "b-only"}, f"B never applied (source too short?): {by_rule}"
    assert max(by_rule["a-only"]) < min(by_rule["b-only"])  # one switch, between two frames
    assert sorted(by_rule["common"]) == [0, 1, 2]  # its 3 per hour, not 3 more after the swap
    names = Counter(image["name"] for image in images)
    assert max(names.values()) == 1  # nothing duplicated
    assert counts["seen"] == 150
    assert len(images) == counts["kept"] == counts["uploaded"] and counts["duplicates"] == 0  # nothing lost


def test_a_collector_that_boots_offline_samples_with_the_cached_rules_and_delivers_later(
    live: Live, frames: Path
) -> None:
    etag = live.push(RULES_A)
    spool = live.tmp / "spool"
    first = subprocess.run(
        live.collect(frames, spool, "--max-frames", "2"), capture_output=True, text=True, timeout=300
    )
    assert first.returncode == 0, first.stdout + first.stderr
    before = len(live.images())
    live.server.stop()
    with live.start_collect(frames, spool, "--max-frames", "40", "--drain-timeout", "120") as proc:
        wait_for(lambda: any((spool / "frames").glob("*.jpg")), "frames spooled while offline")
        live.server.start()
        out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err
    text = " ".join(out.split())
    assert f"sampling with the cached rules {etag[:12]}" in text
    counts = summary_numbers(out)
    images = live.images()
    assert {image["sampling_rule"] for image in images} <= {"common", "a-only"}
    assert len(images) - before == counts["uploaded"] == counts["kept"] - counts["duplicates"]


def test_bad_rules_are_refused_and_the_devices_keep_the_previous_version(live: Live, frames: Path) -> None:
    etag = live.push(RULES_A)
    spool = live.tmp / "spool"
    with live.start_collect(frames, spool, "--max-frames", "60", "--drain-timeout", "60") as proc:
        wait_for(lambda: len(live.images()) >= 3, "A's first frames")
        bad = {"rules": [{"name": "b-only", "type": "random", "probability": 1.5}]}
        refused = httpx.put(
            live.rules_url,
            content=yaml.safe_dump(bad),
            headers={**live.auth, "Content-Type": "application/yaml"},
        )
        assert refused.status_code == 422
        assert "rules[0] (b-only).probability" in refused.text
        assert live.current_etag() == etag
        out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err
    said = " ".join(out.split())
    assert f"rules: server version {etag[:12]} in force at the end" in said
    assert "ignored server version" not in said  # the device never saw the refused text
    assert {image["sampling_rule"] for image in live.images()} <= {"common", "a-only"}
    assert json.loads((spool / CACHE_NAME).read_text())["etag"] == etag
