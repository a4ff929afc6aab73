"""`framescout collect` checks the key and the project before the first frame, works offline-first
when the server is unreachable, and says with its exit code what is left (real processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from framescout.collector import Spool
from framescout.server.process import ServerProcess, free_port
from helpers import framescout


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    server = ServerProcess(tmp_path_factory.mktemp("collect-cli") / "server")
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/cams")
    with server:
        yield server, key


def collect(coco_tiny: Path, nanodet_path: Path, spool: Path, *server: str) -> tuple[int, str, str]:
    done = framescout(
        "collect",
        "--source", str(coco_tiny / "val2017"), "--max-frames", "4",
        "--model", str(nanodet_path), "--classes", str(nanodet_path.parent / "coco.names"),
        "--spool", str(spool), "--drain-timeout", "1", *server,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    ("key", "project", "expected"),
    [
        ("not-a-key", "acme/cams", "401 invalid_api_key: the API key is not valid; check --api-key"),
        (None, "acme/typo", "404 project_not_found"),
        (None, "someone-else/cams", "404 workspace_not_found"),
    ],
    ids=["wrong-key", "unknown-project", "other-workspace"],
)
def test_a_wrong_key_or_project_stops_before_the_first_frame(
    live: tuple[ServerProcess, str],
    coco_tiny: Path,
    nanodet_path: Path,
    tmp_path: Path,
    key: str | None,
    project: str,
    expected: str,
) -> None:
    server, good_key = live
    spool = tmp_path / "spool"
    args = ("--server", server.url, "--api-key", key or good_key, "--project", project)
    code, out, err = collect(coco_tiny, nanodet_path, spool, *args)
    assert code == 1, out + err
    assert expected in " ".join(err.split())  # the message may wrap on a narrow console
    assert "frame(s) seen" not in out and not spool.exists()  # nothing read, the spool untouched
    if "project_not_found" in expected:
        assert "framescout projects create acme/typo" in " ".join(err.split())


def test_an_unreachable_server_is_offline_first_and_exits_3(
    coco_tiny: Path, nanodet_path: Path, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    down = f"http://127.0.0.1:{free_port()}"
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: everything, type: random, probability: 1.0}\n")
    code, out, err = collect(
        coco_tiny, nanodet_path, spool, "--server", down, "--api-key", "k", "--project", "acme/cams",
        "--rules", str(rules),
    )  # fmt: skip
    text = " ".join(out.split())
    assert code == 3, out + err
    assert "the server is unreachable" in text and "going on offline-first" in text
    assert "4 frame(s) seen" in text
    left = Spool(spool).stats()["entries"]
    assert left > 0 and f"{left} frame(s) left in the spool" in text and "framescout spool push" in text


def test_no_rules_no_server_and_no_cached_rules_is_an_error_naming_rules(
    coco_tiny: Path, nanodet_path: Path, tmp_path: Path
) -> None:
    """Without --rules the collector samples by the project's server-held rules: with the server
    unreachable and no cached version in the spool folder, nothing says what to keep."""
    spool = tmp_path / "spool"
    down = f"http://127.0.0.1:{free_port()}"
    code, out, err = collect(
        coco_tiny, nanodet_path, spool, "--server", down, "--api-key", "k", "--project", "acme/cams"
    )
    text = " ".join(err.split())
    assert code == 1, out + err
    assert "cannot get the rules of acme/cams" in text and "pass --rules FILE" in text
    assert "frame(s) seen" not in out


def test_all_delivered_exits_0(
    live: tuple[ServerProcess, str], coco_tiny: Path, nanodet_path: Path, tmp_path: Path
) -> None:
    server, key = live
    spool = tmp_path / "spool"
    done = framescout(
        "collect",
        "--source", str(coco_tiny / "val2017"), "--max-frames", "4",
        "--model", str(nanodet_path), "--classes", str(nanodet_path.parent / "coco.names"),
        "--spool", str(spool), "--server", server.url, "--api-key", key, "--project", "acme/cams",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 waiting in the spool" in done.stdout and "left in the spool" not in done.stdout
    assert Spool(spool).stats()["entries"] == 0


def test_a_project_that_is_not_workspace_slash_project_is_refused(
    coco_tiny: Path, nanodet_path: Path, tmp_path: Path
) -> None:
    args = ("--server", f"http://127.0.0.1:{free_port()}", "--api-key", "k", "--project", "cams")
    code, _, err = collect(coco_tiny, nanodet_path, tmp_path / "spool", *args)
    assert code == 1 and "expected 'workspace/project'" in err and not (tmp_path / "spool").exists()


def test_the_live_view_shows_a_pause_and_counts_duplicates_apart(tmp_path: Path) -> None:
    import io
    import time

    import cv2
    import numpy as np
    from rich.console import Console

    from framescout import Predictions
    from framescout.cli.collect import _view
    from framescout.collector import Collector, Source
    from framescout.sampling import ConfidenceBelow, Sampler
    from stand_in_server import FlakyServer

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    source = Source(str(tmp_path / "a.png"))
    server = FlakyServer([401] * 1000)
    low = Predictions.from_arrays([[0, 0, 4, 4]], [0.1], [0], class_name=["x"])
    try:
        collector = Collector(
            server=server.url,
            api_key="k",
            project="acme/cams",
            spool_dir=tmp_path / "spool",
            rules=Sampler([ConfidenceBelow(0.4, name="low")]),
        )
        collector.observe(np.zeros((60, 80, 3), np.uint8), low)
        deadline = time.monotonic() + 10
        while collector.status()["uploader"]["state"] != "paused" and time.monotonic() < deadline:
            time.sleep(0.02)
        out = io.StringIO()
        Console(file=out, width=200).print(_view(collector, source, time.monotonic()))
        collector.close(timeout=0)
    finally:
        server.close()
    text = out.getvalue()
    assert "upload: paused (401 e401: injected 401)" in " ".join(text.split())  # the caption wraps
    header = next(line for line in text.splitlines() if "uploaded" in line)
    assert "dup" in header and "quarantined" in header


def test_local_rules_whose_encoder_cannot_load_fail_in_one_line(
    tmp_path: Path, coco_tiny: Path, nanodet_path: Path
) -> None:
    """An outlier rule naming an encoder this device lacks passed `rules check` (the path is the
    device's) and then ended `collect --rules` in a ValueError traceback."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - type: outlier\n    embedder: {onnx: /nowhere/encoder.onnx}\n")
    done = framescout(
        "collect",
        "--source", str(coco_tiny / "val2017"), "--max-frames", "2", "--rules", str(rules),
        "--model", str(nanodet_path), "--spool", str(tmp_path / "spool"), "--dry-run", str(tmp_path / "out"),
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"--rules {rules}: cannot load ONNX encoder /nowhere/encoder.onnx" in done.stderr
