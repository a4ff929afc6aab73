"""`framescout rules explain` with a `from: evaluation` schedule: each version held to its evaluated
threshold (from ``--evaluation`` files), the floor and the fallback, and the line saying so."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import framescout

RULES = """\
rules:
  - name: evidence
    type: threshold_schedule
    from: evaluation
    fallback: 0.5
    floor: 0.5
"""


def test_explain_holds_each_version_to_its_evaluated_threshold(tmp_path: Path) -> None:
    box = {"x": 50, "y": 50, "width": 20, "height": 20, "class": "car"}
    frames = [
        {"file": "v2-low.jpg", "model_version": "2", "predictions": [{**box, "confidence": 0.54}]},
        {"file": "v2-high.jpg", "model_version": "2", "predictions": [{**box, "confidence": 0.56}]},
        {"file": "v3.jpg", "model_version": "3", "predictions": [{**box, "confidence": 0.52}]},
    ]
    (tmp_path / "frames.json").write_text(json.dumps(frames))
    (tmp_path / "rules.yaml").write_text(RULES)
    evaluation = {"model_version": "2", "images": 40, "recommended_threshold": 0.55, "per_class": {}}
    (tmp_path / "v2.json").write_text(json.dumps(evaluation))
    args = ("rules", "explain", str(tmp_path / "rules.yaml"), str(tmp_path / "frames.json"))

    result = framescout(*args, "--evaluation", str(tmp_path / "v2.json"), "--json")
    assert result.returncode == 0, result.stderr
    kept = {line["frame"]: line["keep"] for line in map(json.loads, result.stdout.splitlines())}
    assert kept == {"v2-low.jpg": True, "v2-high.jpg": False, "v3.jpg": False}
    note = " ".join(result.stderr.split())
    assert (
        "threshold schedule evidence (from evaluation, floor 0.50): 0.55 for 2 frame(s) of model "
        "version 2 (evaluation of v2 on 40 reviewed frames); 0.50 for 1 frame(s) of model version 3 "
        "(fallback: no evaluation for v3)"
    ) in note

    (tmp_path / "v2.json").write_text(json.dumps({**evaluation, "recommended_threshold": 0.3}))
    floored = framescout(*args, "--evaluation", str(tmp_path / "v2.json"))
    assert floored.returncode == 0, floored.stderr
    assert "0.50 for 2 frame(s) of model version 2 (evaluation of v2 on 40 reviewed frames, its 0.30 " in (
        " ".join(floored.stdout.split())
    )


def test_check_names_the_evaluated_settings(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    checked = framescout("rules", "check", str(tmp_path / "rules.yaml"))
    assert checked.returncode == 0, checked.stderr
    assert "1. evidence (threshold_schedule)  thresholds from evaluation (fallback 0.50, floor 0.50)" in (
        checked.stdout
    )


def test_a_bad_evaluation_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    (tmp_path / "frames.json").write_text("[]")
    (tmp_path / "bad.json").write_text(json.dumps({"model_version": "2", "recommended_threshold": 2}))
    args = ("rules", "explain", str(tmp_path / "rules.yaml"), str(tmp_path / "frames.json"))
    result = framescout(*args, "--evaluation", str(tmp_path / "bad.json"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "--evaluation" in result.stderr and "recommended_threshold must be a confidence" in result.stderr
    remote = framescout(*args, "--evaluation-from", "acme/street")
    assert remote.returncode == 1 and "give --server and --api-key" in remote.stderr
