"""The guide's routing example as one ``framescout collect`` run (real processes, a real video):
"Project A: randomly collected images | Project B: below a confidence of 30% | Project C: below 50%".
Each rule's frames land in its own project and batch, dated by the video's own time across midnight,
nothing is lost; a destination the server lacks stops the run before the first frame."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from framescout.client import Client
from framescout.collector import Spool
from framescout.collector.record import FrameRecord
from framescout.server.process import ServerProcess
from helpers import framescout, jpeg

RULES = """\
seed: 3
rules:
  - {name: random, type: random, probability: 0.1, project: project-a}
  - name: low-30
    type: confidence
    below: 0.3
    classes: [bench]
    project: project-b
    batch: {prefix: night-cams, recreate: daily}
  - {name: low-50, type: confidence, below: 0.5, classes: [bench], project: project-c}
"""
"""``bench`` is in almost every frame of people.mp4, with a lowest score sometimes under 0.3 and more
often between 0.3 and 0.5 (nanodet-m at its 0.25 threshold), so each rule keeps some frames."""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    server = ServerProcess(tmp_path_factory.mktemp("collect-routing") / "server")
    key = server.create_key("acme")
    for project in ("cams", "project-a", "project-b", "project-c"):
        server.cli("projects", "create", f"acme/{project}")
    with server:
        yield server, key


@pytest.fixture
def video(coco_tiny: Path) -> Path:
    path = coco_tiny.parent / "videos" / "people.mp4"
    if not path.exists():
        pytest.skip(f"needs {path} (the ../shared videos); not present here")
    return path


def collect(
    server: ServerProcess, key: str, video: Path, model: Path, rules: Path, spool: Path
) -> tuple[int, str]:
    done = framescout(
        "collect", "--source", str(video), "--every", "2",
        "--model", str(model), "--classes", str(model.parent / "coco.names"), "--rules", str(rules),
        "--start-time", "2026-12-01T23:59:55Z",  # the 10 s recording crosses midnight at 5 s
        "--server", server.url, "--api-key", key, "--project", "acme/cams", "--spool", str(spool),
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def test_one_run_sends_each_rules_frames_to_its_own_project_and_batch(
    live: tuple[ServerProcess, str], video: Path, nanodet_path: Path, tmp_path: Path
) -> None:
    server, key = live
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    code, text = collect(server, key, video, nanodet_path, rules, tmp_path / "spool")
    assert code == 0, text
    assert "124 frame(s) seen" in text
    kept = int(text.split(" kept, ")[0].rsplit(" ", 1)[-1])
    assert (
        f"{kept} uploaded to acme/cams and the rules' projects (project-a, project-b, project-c) (new)"
        in text
    )
    assert "0 already on the server" in text and "0 waiting in the spool" in text
    with Client(server.url, key) as client:
        stored = {
            p: list(client.iter_images(f"acme/{p}")) for p in ("cams", "project-a", "project-b", "project-c")
        }
    assert sum(len(images) for images in stored.values()) == kept  # nothing lost, nothing doubled
    assert stored["cams"] == []
    rules_of = {p: Counter(im["sampling_rule"] for im in images) for p, images in stored.items()}
    assert set(rules_of["project-a"]) == {"random"}
    assert set(rules_of["project-b"]) == {"low-30"}
    assert set(rules_of["project-c"]) == {"low-50"}
    assert all(im["batch"] is None for p in ("project-a", "project-c") for im in stored[p])
    # Each low-30 frame's batch is the UTC date of its own (video) time: both days appear.
    dated = Counter(
        (im["batch"], "night-cams-" + datetime.fromisoformat(im["observed_at"]).strftime("%Y-%m-%d"))
        for im in stored["project-b"]
    )
    assert all(batch == expected for batch, expected in dated), dated
    assert {batch for batch, _ in dated} == {"night-cams-2026-12-01", "night-cams-2026-12-02"}


def test_a_missing_destination_stops_the_run_before_any_frame(
    live: tuple[ServerProcess, str], video: Path, nanodet_path: Path, tmp_path: Path
) -> None:
    server, key = live
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace("project: project-c", "project: project-z"))
    spool = tmp_path / "spool"
    code, text = collect(server, key, video, nanodet_path, rules, spool)
    assert code == 1, text
    assert "rule low-50 sends frames to project acme/project-z" in text
    assert "404 project_not_found" in text and "framescout projects create acme/project-z" in text
    assert "frame(s) seen" not in text and not spool.exists()


def test_spool_push_holds_a_missing_destination_and_delivers_the_rest(
    live: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    """Routed frames spooled for a project that is gone by the time they are pushed: the others are
    delivered, these stay in the spool (exit 3), and the report names the project and the answer."""
    server, key = live
    spool = Spool(tmp_path / "spool")
    for seed, (rule, project) in enumerate((("low-30", "project-b"), ("lost", "gone"), ("lost", "gone"))):
        record = FrameRecord(sampling_rule=rule, project=project, batch="push-test", name=f"push-{seed}.jpg")
        spool.put(jpeg(seed), record.to_json(), rule=rule)
    spool.close()
    done = framescout(
        "spool", "push", "--server", server.url, "--api-key", key, "--project", "acme/cams",
        "--spool", str(tmp_path / "spool"), "--timeout", "5", env={"COLUMNS": "200"},
    )  # fmt: skip
    text = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 3, text
    assert (
        "frames for project gone are held (a rule routes to it): the server answered 404 project_not_found"
        in text
    )
    assert "2 frame(s) left in the spool" in text and "quarantined" not in text.split("left in the spool")[1]
    with Client(server.url, key) as client:
        pushed = [im for im in client.iter_images("acme/project-b") if im["name"] == "push-0.jpg"]
    assert [(im["sampling_rule"], im["batch"]) for im in pushed] == [("low-30", "push-test")]
    assert Spool(tmp_path / "spool").stats()["entries"] == 2
