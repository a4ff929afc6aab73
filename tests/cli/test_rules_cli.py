"""`framescout rules check` and `framescout rules explain`, run as a user would (a real subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import framescout

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules"


def test_check_accepts_every_example() -> None:
    for path in sorted(EXAMPLES.glob("*.*")):
        result = framescout("rules", "check", str(path))
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("ok ")


def test_check_rejects_a_bad_file_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - name: low\n    type: confidence\n    bellow: 0.4\n")
    result = framescout("rules", "check", str(bad))
    assert result.returncode == 1
    assert "rules[0] (low).bellow: unknown key (did you mean 'below'?)" in result.stderr
    assert "Traceback" not in result.stderr
    missing = framescout("rules", "check", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def frames(tmp_path: Path) -> Path:
    box = {"x": 50, "y": 50, "width": 20, "height": 20, "class": "person", "class_id": 0}
    data = [
        {
            "file": "a.jpg",
            "image": {"width": 640, "height": 480},
            "predictions": [{**box, "confidence": 0.2}],
        },
        {"file": "b.jpg", "predictions": [{**box, "confidence": 0.95}]},
        {"file": "c.jpg", "predictions": []},
        {"image": "d.jpg", "predictions": [{**box, "confidence": 0.35}], "model_version": "2"},
    ]
    path = tmp_path / "predictions.json"
    path.write_text(json.dumps(data))
    return path


def test_explain_says_kept_or_not_and_why(tmp_path: Path) -> None:
    result = framescout("rules", "explain", str(EXAMPLES / "default.yaml"), str(frames(tmp_path)), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["frame"] for line in lines] == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    assert [line["rule"] for line in lines] == ["low-confidence", None, "nothing-detected", "low-confidence"]
    assert "below confidence 0.40" in lines[0]["reason"]
    assert lines[1]["reason"] == "no rule matched"

    table = framescout("rules", "explain", str(EXAMPLES / "default.yaml"), str(frames(tmp_path)))
    assert table.returncode == 0
    assert "kept 3 of 4 frame(s)" in table.stdout


def test_explain_rejects_bad_predictions(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"predictions": [{"x": 1}]}]')
    result = framescout("rules", "explain", str(EXAMPLES / "default.yaml"), str(bad))
    assert result.returncode == 1
    assert "frame 0 (#0): predictions[0] is missing the key 'y'" in result.stderr
    bad.write_text("{not json")
    result = framescout("rules", "explain", str(EXAMPLES / "default.yaml"), str(bad))
    assert result.returncode == 1 and "invalid JSON" in result.stderr


def test_explain_names_a_rule_this_machine_cannot_build_without_a_traceback(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - type: scene_change\n    embedder: {onnx: /nowhere/encoder.onnx}\n")
    assert framescout("rules", "check", str(rules)).returncode == 0  # valid: the path is the device's
    result = framescout("rules", "explain", str(rules), str(frames(tmp_path)))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{rules}: cannot load ONNX encoder /nowhere/encoder.onnx" in result.stderr


def test_explain_names_an_encoder_of_another_input_size_without_a_traceback(
    tmp_path: Path, nanodet_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"rules:\n  - type: outlier\n    embedder: {{onnx: {nanodet_path}, size: [224, 224]}}\n")
    result = framescout("rules", "explain", str(rules), str(frames(tmp_path)))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"{rules}: ONNX encoder {nanodet_path} does not run on a 224x224 image" in result.stderr


def test_check_reports_where_limits_are_counted(tmp_path: Path) -> None:
    fleet = framescout("rules", "check", str(EXAMPLES / "fleet.yaml"))
    assert fleet.returncode == 0, fleet.stderr
    out = " ".join(fleet.stdout.split())
    assert "1. hard-cases (confidence) limits {'per_minute': 60, 'per_hour': 300} shared in redis://" in out
    assert "2. daily-sample (random) limits {'per_minute': 2} global limits" in out  # memory://: local
    assert "storage redis://10.0.0.5:6379/0: limits shared with every process and device" in out
    plain = framescout("rules", "check", str(EXAMPLES / "default.yaml"))
    assert "storage memory://: limits counted in each process" in plain.stdout
    bad = tmp_path / "rules.yaml"
    bad.write_text("storage: redis://:pw@cache:63790000\nrules:\n  - {type: random, probability: 1}\n")
    result = framescout("rules", "check", str(bad))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert "storage: 'redis://:***@cache:63790000': the port is not a number from 1 to 65535" in message


def test_explain_never_contacts_a_shared_storage(tmp_path: Path) -> None:
    """Nothing listens on port 1: explain replays with its own limits, exactly, and says so."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "storage: redis://127.0.0.1:1\n"
        "rules:\n  - {name: all, type: random, probability: 1.0, limits: {per_minute: 2}}\n"
    )
    result = framescout("rules", "explain", str(rules), str(frames(tmp_path)), "--json", "--fps", "1")
    assert result.returncode == 0, result.stderr
    kept = [json.loads(line)["keep"] for line in result.stdout.splitlines()]
    assert kept == [True, True, False, False]
    assert "the shared storage is not used" in result.stderr and "unreachable" not in result.stderr


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_entry_point_basics(flag: str) -> None:
    result = framescout(flag)
    assert result.returncode == 0


def test_explain_says_which_threshold_of_a_schedule_it_used(tmp_path: Path) -> None:
    box = {"x": 50, "y": 50, "width": 20, "height": 20, "class": "person", "class_id": 0}
    data = [
        {"file": "a.jpg", "predictions": [{**box, "confidence": 0.45}]},
        {"file": "b.jpg", "predictions": [{**box, "confidence": 0.55}]},
        {"file": "c.jpg", "predictions": [{**box, "confidence": 0.45}], "model_version": "1"},
        {"file": "d.jpg", "predictions": [{**box, "confidence": 0.45}], "model_version": "7"},
    ]
    predictions = tmp_path / "predictions.json"
    predictions.write_text(json.dumps(data))
    rules = str(EXAMPLES / "low-confidence.yaml")  # schedule {1: 0.40, 2: 0.50, 3: 0.60}, no default

    plain = framescout("rules", "explain", rules, str(predictions))
    assert plain.returncode == 0, plain.stderr
    note = " ".join(plain.stdout.split()).split("threshold schedule below-schedule: ")[1]
    assert note.startswith(
        "0.60 for 2 frame(s) without a model version (its last entry, version 3, as it has no default; "
        "pass --model-version to choose); 0.40 for 1 frame(s) of model version 1 (their own); "
        "0.60 for 1 frame(s) of model version 7 (their own, not in the schedule: its last entry"
    )

    chosen = framescout("rules", "explain", rules, str(predictions), "--model-version", "2", "--json")
    assert chosen.returncode == 0, chosen.stderr
    lines = [json.loads(line) for line in chosen.stdout.splitlines()]  # stdout stays JSON lines
    assert "below 0.50, the threshold for model version 2" in lines[0]["reason"]
    assert lines[1]["rule"] != "below-schedule"  # 0.55 is not below 0.50
    assert "0.50 for 2 frame(s) of model version 2 (--model-version)" in " ".join(chosen.stderr.split())

    with_default = tmp_path / "rules.yaml"
    with_default.write_text(
        "rules:\n  - {name: rising, type: threshold_schedule, schedule: {'1': 0.4}, default: 0.5}\n"
    )
    done = framescout("rules", "explain", str(with_default), str(predictions))
    assert "threshold schedule rising: 0.50 for 2 frame(s) without a model version (its default;" in " ".join(
        done.stdout.split()
    )


def test_check_and_explain_show_where_each_rule_sends_its_frames(tmp_path: Path) -> None:
    routing = EXAMPLES / "routing.yaml"
    check = framescout("rules", "check", str(routing))
    assert check.returncode == 0, check.stderr
    assert (
        "low-30 (confidence)  -> project below-30, batch night-cams-YYYY-MM-DD (daily, at most 500"
        in check.stdout
    )
    assert (
        "random (random)  -> project random-sample, batch random-YYYY-MM (monthly, Europe/Paris)"
        in check.stdout
    )
    box = {"x": 50, "y": 50, "width": 20, "height": 20, "class": "person", "class_id": 0}
    stamps = [1764633600.0, 1764719999.0, 1764720000.0]  # 2 Dec 2025 00:00, 23:59:59, 3 Dec 00:00
    data = [
        {"file": f"{i}.jpg", "timestamp": t, "predictions": [{**box, "confidence": c}]}
        for i, (t, c) in enumerate(zip(stamps, (0.2, 0.25, 0.4), strict=True))
    ]
    path = tmp_path / "frames.json"
    path.write_text(json.dumps(data))
    result = framescout("rules", "explain", str(routing), str(path), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["rule"], line.get("project"), line.get("batch")) for line in lines] == [
        ("low-30", "below-30", "night-cams-2025-12-02"),
        ("low-30", "below-30", "night-cams-2025-12-02"),
        ("low-50", "below-50", "below-50-2025-W49"),
    ]
    table = framescout("rules", "explain", str(routing), str(path), env={"COLUMNS": "200"})
    assert table.returncode == 0 and "project below-30 batch night-cams-2025-12-02" in table.stdout
