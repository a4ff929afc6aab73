"""The README's quick start, typed into two terminals in two different folders by a user with a fresh
home: the commands are read from README.md itself (so the README and this test cannot drift) and run as
real processes, ``framescout serve`` in folder A, the second block in folder B.

The only changes made to the README's text: port 9001 becomes a free port (so the test can run beside
other servers), and ``pip install`` is not re-run (the test reuses this virtual environment). The user's
files that the README names (``detector.onnx``, ``names.txt``, ``street.mp4``) are put into folder B:
NanoDet-m, its COCO names and a 1 s clip of a real video from ../shared; without ../shared the lines
that need them are left out and the test skips at the end, after the rest has passed."""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from framescout.client import Client
from framescout.server.process import free_port
from framescout.store.locate import servers_dir, user_data_dir

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
NANODET = SHARED / "models" / "nanodet-m" / "nanodet_m.onnx"
README = ROOT / "README.md"
VIDEO = SHARED / "data" / "videos" / "soccer.mp4"
COCO_NAMES = NANODET.parent / "coco.names"
USER_FILES = ("detector.onnx", "names.txt", "street.mp4")


@dataclass
class QuickStart:
    first_terminal: list[str]  # logical commands (continuation lines joined), comments kept
    second_terminal: list[str]


def _commands(block: str) -> list[str]:
    """A bash block's commands, one per logical line (``\\``-continued lines joined)."""
    commands: list[str] = []
    pending = ""
    for line in block.splitlines():
        if not line.strip() and not pending:
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        commands.append(pending + line)
        pending = ""
    assert not pending, "a README command ends with a line continuation"
    return commands


def read_quick_start(readme: Path = README) -> QuickStart:
    """The two ```bash blocks of the README's "Quick start" section."""
    text = readme.read_text()
    match = re.search(r"^## Quick start\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert match, "README.md has no '## Quick start' section"
    blocks = re.findall(r"^```bash\n(.*?)^```", match.group(1), flags=re.S | re.M)
    assert len(blocks) == 2, f"the quick start should have two bash blocks (two terminals), has {len(blocks)}"
    return QuickStart(_commands(blocks[0]), _commands(blocks[1]))


def _program(command: str) -> str:
    return command.split("#", 1)[0].strip()


def test_the_readme_quick_start_names_what_it_runs() -> None:
    """The README shows install, serve, and in the second terminal keys, projects, models add, collect."""
    quick = read_quick_start()
    first = [_program(c) for c in quick.first_terminal]
    assert first[0].startswith("pip install -e") and first[1:] == ["framescout serve"]
    second = [_program(c) for c in quick.second_terminal]
    steps = [re.sub(r"^export KEY=\$\((.*)\)$", r"\1", c).split()[:3] for c in second]
    assert [s[:2] for s in steps] == [
        ["framescout", "keys"],
        ["framescout", "projects"],
        ["framescout", "models"],
        ["framescout", "collect"],
    ]
    models_add = next(c for c in second if c.startswith("framescout models add"))
    assert re.match(r"framescout models add acme/street 1 --onnx \S+ --classes \S+", models_add)
    assert all("--data-dir" not in c for c in second)  # the point of item 1: no --data-dir needed


def _clip(source: Path, target: Path, frames: int) -> None:
    """The first ``frames`` frames of a real video, as an .mp4 the user would have."""
    import cv2

    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    writer: cv2.VideoWriter | None = None
    for _ in range(frames):
        ok, frame = capture.read()
        if not ok:
            break
        if writer is None:
            height, width = frame.shape[:2]
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
        writer.write(frame)
    capture.release()
    assert writer is not None, f"could not read {source}"
    writer.release()


@pytest.fixture
def user_env() -> dict[str, str]:
    """A shell environment as a fresh user has it: this test's own home (tests/conftest.py), no
    FRAMESCOUT_* variables, this virtual environment's bin/ first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMESCOUT_")}
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env["COLUMNS"] = "200"
    if shutil.which("framescout", path=bin_dir) is None:
        pytest.skip(f"no `framescout` console script in {bin_dir}: install the project (pip install -e .)")
    if shutil.which("bash") is None:
        pytest.skip("bash is needed to type the README's commands")
    return env


@pytest.fixture
def first_terminal(tmp_path: Path, user_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """Terminal 1, folder A: the README's ``framescout serve`` (on a free port), stopped with Ctrl-C."""
    quick = read_quick_start()
    port = free_port()
    script = "\n".join(c for c in quick.first_terminal if not c.startswith("pip install"))
    script = re.sub(r"\bframescout serve\b", f"framescout serve --port {port}", script)
    folder = tmp_path / "A"
    folder.mkdir()
    proc = subprocess.Popen(
        ["bash", "-c", script],
        cwd=folder,
        env=user_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"framescout serve exited: {proc.communicate()[0]}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "framescout serve did not answer within 90 s"
            time.sleep(0.2)
        yield proc, port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.mark.slow
def test_the_quick_start_in_two_terminals_in_two_folders(
    tmp_path: Path, user_env: dict[str, str], first_terminal: tuple[subprocess.Popen[str], int]
) -> None:
    server, port = first_terminal
    url = f"http://127.0.0.1:{port}"
    folder_b = tmp_path / "B"
    folder_b.mkdir()
    have_assets = NANODET.is_file() and COCO_NAMES.is_file() and VIDEO.is_file()
    if have_assets:
        shutil.copyfile(NANODET, folder_b / "detector.onnx")
        shutil.copyfile(COCO_NAMES, folder_b / "names.txt")
        _clip(VIDEO, folder_b / "street.mp4", frames=30)

    commands = read_quick_start().second_terminal
    assert any("127.0.0.1:9001" in c for c in commands)
    commands = [c.replace("127.0.0.1:9001", f"127.0.0.1:{port}") for c in commands]
    left_out = [c for c in commands if any(name in c for name in USER_FILES)]
    if not have_assets:
        commands = [c for c in commands if c not in left_out]
    script = "set -e\n" + "\n".join(commands) + '\nprintf "\\nKEY=%s\\n" "$KEY"\n'
    typed = subprocess.run(
        ["bash", "-c", script], cwd=folder_b, env=user_env, capture_output=True, text=True, timeout=900
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr
    key = re.findall(r"^KEY=(\S*)$", typed.stdout, flags=re.M)[-1]
    assert key, "the README's `export KEY=$(framescout keys create ...)` left $KEY empty: " + typed.stderr

    data_dir = user_data_dir().resolve()  # the fresh user's ~/.local/share/framescout
    admin = len([c for c in commands if re.search(r"framescout (keys|projects|models) ", c)])
    used = f"data directory: {data_dir} (the running server's, {url})"
    assert typed.stderr.count(used) == admin, typed.stderr
    assert (data_dir / "framescout.db").is_file()
    assert not (tmp_path / "A" / "framescout-data").exists() and not (folder_b / "framescout-data").exists()

    auth = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{url}/api/v1/whoami", headers=auth).json()["slug"] == "acme"
    picture = folder_b / "generated.png"  # a real upload with the key the README printed
    rng = np.random.default_rng(11)
    Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(picture)
    with Client(url, key) as client:
        result = client.upload_image("acme/street", picture)
    assert not result.duplicate
    images = httpx.get(f"{url}/api/v1/projects/acme/street/images", headers=auth).json()
    listed = images["images"]
    assert result.id in [image["id"] for image in listed]

    if have_assets:
        collected = [image for image in listed if image["id"] != result.id]
        assert collected, "`framescout collect` uploaded no frame: " + typed.stdout[-2000:]
        assert all(image.get("sampling_rule") for image in collected)
        versions = httpx.get(f"{url}/api/v1/projects/acme/street/versions", headers=auth).json()
        assert [(v["version"], len(v["classes"])) for v in versions] == [(1, 80)]  # `models add` did it
        photo = base64.b64encode((SHARED / "data" / "samples" / "bus.jpg").read_bytes())
        hosted = httpx.post(f"{url}/street/1?api_key={key}", content=photo, timeout=120)
        assert hosted.status_code == 200 and hosted.json()["predictions"], hosted.text[:300]

    os.killpg(server.pid, signal.SIGINT)  # Ctrl-C in terminal 1
    assert server.wait(timeout=60) in (0, 130), server.communicate()[0]
    assert list(servers_dir().glob("*.json")) == []  # the state file went with the server
    if not have_assets:
        pytest.skip(
            f"passed without {len(left_out)} README line(s) needing the user's files "
            f"(`models add`, `collect`): {SHARED} has no NanoDet-m model or video here"
        )
