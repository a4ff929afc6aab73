"""`framescout select` over a real folder: duplicates and corrupt files are handled, picks are output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers import framescout


@pytest.fixture
def folder(tmp_path: Path, coco_tiny: Path) -> Path:
    pool = tmp_path / "pool"
    (pool / "sub").mkdir(parents=True)
    sources = sorted((coco_tiny / "val2017").glob("*.jpg"))[:20]
    for i, src in enumerate(sources):
        shutil.copy(src, (pool / "sub" if i % 2 else pool) / src.name)
    shutil.copy(sources[0], pool / "copy-of-first.jpg")  # an exact duplicate
    (pool / "broken.jpg").write_bytes(sources[1].read_bytes()[:500])  # truncated
    (pool / "notes.txt").write_text("not an image")  # ignored by suffix
    return pool


def test_kcenter_pick_to_json_and_folder(folder: Path, tmp_path: Path) -> None:
    out, copies = tmp_path / "pick.json", tmp_path / "picked"
    result = framescout(
        "select",
        "--images",
        str(folder),
        "--budget",
        "5",
        "--strategy",
        "kcenter",
        "--out",
        str(out),
        "--copy-to",
        str(copies),
    )
    assert result.returncode == 0, result.stderr
    assert "22 image(s): 1 unreadable, 1 duplicate(s), 20 in the pool; picked 5 by kcenter" in result.stdout
    report = json.loads(out.read_text())
    picked = [row["path"] for row in report["picked"]]
    assert len(picked) == len(set(picked)) == 5
    assert not any(p.endswith("copy-of-first.jpg") or p.endswith("broken.jpg") for p in picked)
    assert list(report["skipped"]) == [str(folder / "broken.jpg")]
    assert sorted(p.name.split("_", 1)[1] for p in copies.iterdir()) == sorted(Path(p).name for p in picked)


def test_random_pick_prints_paths_and_is_seeded(folder: Path) -> None:
    first = framescout(
        "select", "--images", str(folder), "--budget", "3", "--strategy", "random", "--seed", "4"
    )
    again = framescout(
        "select", "--images", str(folder), "--budget", "3", "--strategy", "random", "--seed", "4"
    )
    assert first.returncode == 0, first.stderr
    lines = [line for line in first.stdout.splitlines() if line.endswith(".jpg")]
    assert len(lines) == 3 and first.stdout == again.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "margin"], "give --model"),
        (["--strategy", "magic"], "unknown strategy"),
        (["--upload", "acme/p"], "--project and --upload need --server"),
        (["--views", "flip"], "--views: views compare a detector's predictions"),
        (["--views", "flip,spin", "--strategy", "kcenter"], "--views: unknown view 'spin'"),
    ],
)
def test_bad_arguments_fail_clearly(folder: Path, args: list[str], message: str) -> None:
    result = framescout("select", "--images", str(folder), "--budget", "2", *args)
    assert result.returncode == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_output_paths_that_cannot_be_written_fail_in_one_line(folder: Path, tmp_path: Path) -> None:
    """--out naming a folder, or inside a file, and --copy-to naming a file were tracebacks (after the
    whole scan); --out in a folder that does not exist yet was one too (--report makes its folder)."""
    (tmp_path / "taken").write_text("a file")
    cases = [
        (["--out", str(tmp_path)], f"--out {tmp_path} is a folder"),
        (["--copy-to", str(tmp_path / "taken")], "--copy-to " + str(tmp_path / "taken") + " is a file"),
        (["--out", str(tmp_path / "taken" / "pick.json")], "cannot write --out"),
        (["--copy-to", str(tmp_path / "taken" / "picks")], "cannot copy the picks to --copy-to"),
    ]
    for args, message in cases:
        result = framescout("select", "--images", str(folder), "--budget", "2", "--strategy", "random", *args)
        assert result.returncode == 1 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert (tmp_path / "taken").read_text() == "a file"
    out = tmp_path / "new" / "deeper" / "pick.json"
    result = framescout("select", "--images", str(folder), "--budget", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert len(json.loads(out.read_text())["picked"]) == 2
    assert [p.name for p in out.parent.iterdir()] == ["pick.json"]  # no temporary file left


def test_a_detector_as_the_embedder_runs_at_its_own_input_size(
    folder: Path, tmp_path: Path, nanodet_path: Path
) -> None:
    """--embedder has no size option: an encoder with a fixed input other than 224x224 was a traceback."""
    out = tmp_path / "pick.json"
    result = framescout(
        "select", "--images", str(folder), "--budget", "3", "--strategy", "kcenter",
        "--embedder", str(nanodet_path), "--out", str(out), "--show", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(json.loads(out.read_text())["picked"]) == 3


@pytest.mark.parametrize("bits", ["-1", "65", "1000"])
def test_near_duplicate_bits_outside_the_hash_are_refused(folder: Path, bits: str) -> None:
    """1000 made every image a duplicate of the first (a pick of one), -1 silently disabled it."""
    result = framescout("select", "--images", str(folder), "--budget", "2", "--near-duplicate-bits", bits)
    assert result.returncode == 2 and "Traceback" not in result.stderr  # a usage error, like --budget 0
    assert "near-duplicate-bits" in result.stderr and "0<=x<=64" in result.stderr, result.stderr


def test_a_name_with_a_newline_is_one_line_of_the_pick_list(tmp_path: Path, coco_tiny: Path) -> None:
    pool = tmp_path / "pool"
    pool.mkdir()
    source = sorted((coco_tiny / "val2017").glob("*.jpg"))[0]
    shutil.copy(source, pool / "a\nINJECTED\n.jpg")
    result = framescout("select", "--images", str(pool), "--budget", "1", "--strategy", "random")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == str(pool / "a\\x0aINJECTED\\x0a.jpg")
    assert "INJECTED" not in result.stdout.splitlines()


def test_empty_and_missing_folders(tmp_path: Path) -> None:
    result = framescout("select", "--images", str(tmp_path), "--budget", "2", "--strategy", "random")
    assert result.returncode == 1 and "no images found" in result.stderr
    result = framescout("select", "--images", str(tmp_path / "nope"), "--budget", "2")
    assert result.returncode == 1 and "is not a folder" in result.stderr


def test_select_from_a_server_project_and_upload_a_folder_pick(folder: Path, tmp_path: Path) -> None:
    from framescout import Predictions
    from framescout.client import Client
    from framescout.server.process import ServerProcess

    server = ServerProcess(tmp_path / "server")
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/pool")
    server.cli("projects", "create", "acme/batch")
    files = sorted(folder.glob("*.jpg"))[:6]
    with server, Client(server.url, key) as client:
        ids = []
        for i, path in enumerate(files):  # pre-labels as a collector would upload them
            conf = [0.5, 0.52] if i == 3 else [0.95]
            boxes = [[10, 10, 50, 50]] * len(conf)
            p = Predictions.from_arrays(boxes, conf, [0] * len(conf), class_name=["person"] * len(conf))
            ids.append(client.upload_image("acme/pool", path, predictions=p).id)
        labelled = tmp_path / "gt.json"
        labelled.write_text(
            '{"predictions": [{"x": 30, "y": 30, "width": 20, "height": 20, "class": "person"}]}'
        )
        client.add_annotations("acme/pool", ids[0], labelled, format="roboflow")
        out = tmp_path / "pick.json"
        result = framescout(
            "select",
            "--project",
            "acme/pool",
            "--server",
            server.url,
            "--api-key",
            key,
            "--budget",
            "1",
            "--strategy",
            "margin",
            "--out",
            str(out),
        )
        assert result.returncode == 0, result.stderr
        assert "5 image(s)" in result.stdout  # the labelled one is not a candidate
        assert json.loads(out.read_text())["picked"][0]["id"] == ids[3]  # the coin-toss prediction

        uploaded = framescout(
            "select",
            "--images",
            str(folder),
            "--budget",
            "3",
            "--strategy",
            "kcenter",
            "--upload",
            "acme/batch",
            "--server",
            server.url,
            "--api-key",
            key,
        )
        assert uploaded.returncode == 0, uploaded.stderr
        assert "uploaded 3 new image(s) to acme/batch (batch select-kcenter)" in uploaded.stdout
        assert client.list_images("acme/batch", batch="select-kcenter")["total"] == 3


def test_images_or_project_exactly_one(tmp_path: Path) -> None:
    result = framescout("select", "--budget", "2")
    assert result.returncode == 1 and "exactly one of --images" in result.stderr
