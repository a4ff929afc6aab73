"""Counts a user can trust: `collect` says what was uploaded new, what was already on the server,
what was dropped and what is left in the spool, so the numbers add up across runs; `collect` and
`predict` say in one line when the classes will be numbers (real server process, real ONNX graph)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from framescout.client import Client
from framescout.server.process import ServerProcess, free_port
from helpers import framescout
from onnx_graphs import constant_model, yolov8

RULES = "novelty: {threshold: 0.9}\nrules:\n  - {name: all, type: random, probability: 1.0}\n"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Four images (the second a copy of the first, so novelty drops it), a model, a rules file."""
    root = tmp_path_factory.mktemp("counts")
    images = root / "images"
    images.mkdir()
    rng = np.random.default_rng(5)
    for name in ("a", "b", "c"):
        cv2.imwrite(str(images / f"{name}.png"), rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
    (images / "a2.png").write_bytes((images / "a.png").read_bytes())  # sorts right after a.png
    rules = root / "rules.yaml"
    rules.write_text(RULES)
    return images, constant_model(root / "model.onnx", yolov8()), rules


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    server = ServerProcess(tmp_path_factory.mktemp("counts-server") / "server")
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/counts")
    with server:
        yield server, key


def run(
    inputs: tuple[Path, Path, Path], spool: Path, server: str, key: str, drain: float = 20
) -> tuple[int, str, str]:
    images, model, rules = inputs
    done = framescout(
        "collect", "--source", str(images), "--model", str(model), "--classes", str(names(spool.parent)),
        "--rules", str(rules), "--spool", str(spool), "--drain-timeout", str(drain),
        "--server", server, "--api-key", key, "--project", "acme/counts",
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, " ".join(done.stdout.split()), done.stderr


def names(folder: Path) -> Path:
    path = folder / "names.txt"
    path.write_text("person\ncar\n")
    return path


def test_the_summary_separates_new_duplicates_dropped_and_left_across_runs(
    inputs: tuple[Path, Path, Path], live: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, key = live
    spool = tmp_path / "spool"
    # 1. The server is down: 4 kept, the look-alike dropped, 3 left in the spool (exit 3).
    code, out, _ = run(inputs, spool, f"http://127.0.0.1:{free_port()}", key, drain=0)
    assert code == 3, out
    assert (
        "4 frame(s) seen, 4 kept, 0 uploaded to acme/counts (new), 0 already on the server (duplicates), "
        "0 quarantined; 3 waiting in the spool; 1 dropped" in out
    )
    # 2. The server is up, same spool, same images: the 3 spooled frames go up as new, this run's
    # 3 frames (the same bytes) are duplicates, and the summary says the spool held 3 at the start.
    code, out, _ = run(inputs, spool, server.url, key)
    assert code == 0, out
    assert (
        "4 frame(s) seen, 4 kept, 3 uploaded to acme/counts (new), 3 already on the server (duplicates), "
        "0 quarantined; 0 waiting in the spool; 1 dropped "
        "(the spool held 3 frame(s) from an earlier run, counted here too)" in out
    )
    assert "similar_to_recent" in out  # why the one was dropped
    with Client(server.url, key) as client:
        assert len(list(client.iter_images("acme/counts"))) == 3
    # 3. A fresh spool: everything is already on the server, nothing from an earlier run.
    code, out, _ = run(inputs, tmp_path / "spool2", server.url, key)
    assert code == 0, out
    assert "0 uploaded to acme/counts (new), 3 already on the server (duplicates)" in out
    assert "earlier run" not in out


def test_collect_and_predict_say_once_that_classes_will_be_numbers(
    inputs: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    images, model, rules = inputs  # the graph's metadata names no classes
    collect = framescout(
        "collect", "--source", str(images), "--model", str(model), "--rules", str(rules),
        "--dry-run", str(tmp_path / "kept"), "--spool", str(tmp_path / "spool"),
    )  # fmt: skip
    predict = framescout("predict", str(images), "--model", str(model), "--out", str(tmp_path / "p.json"))
    for done in (collect, predict):
        assert done.returncode == 0, done.stdout + done.stderr
        lines = [line for line in done.stderr.splitlines() if "classes will be numbers" in line]
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("warning: model.onnx names no classes and --classes was not given")
        assert "(0..1)" in lines[0] and "error" not in done.stderr
    named = framescout(
        "predict", str(images), "--model", str(model), "--classes", str(names(tmp_path)),
        "--out", str(tmp_path / "q.json"),
    )  # fmt: skip
    assert named.returncode == 0 and "classes will be numbers" not in named.stderr
