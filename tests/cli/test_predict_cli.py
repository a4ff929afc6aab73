"""`framescout predict` with the real NanoDet-m model, and `framescout select --model` on its uncertainty."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from helpers import framescout

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules"


def test_predict_then_explain(nanodet_path: Path, coco_tiny: Path, tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for src in sorted((coco_tiny / "val2017").glob("*.jpg"))[:6]:
        shutil.copy(src, images / src.name)
    (images / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 nope")
    out = tmp_path / "predictions.json"
    result = framescout(
        "predict",
        str(images),
        "--model",
        str(nanodet_path),
        "--classes",
        str(nanodet_path.parent / "coco.names"),
        "--model-version",
        "2",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "6 image(s)" in result.stdout and "1 skipped" in result.stdout
    frames = json.loads(out.read_text())
    assert [Path(f["file"]).name for f in frames] == sorted(p.name for p in images.glob("0*.jpg"))
    assert all(f["model_version"] == "2" and "width" in f["image"] for f in frames)
    assert sum(len(f["predictions"]) for f in frames) > 0
    explained = framescout("rules", "explain", str(EXAMPLES / "low-confidence.yaml"), str(out), "--json")
    assert explained.returncode == 0, explained.stderr
    assert len(explained.stdout.splitlines()) == 6


def test_predict_refuses_a_bad_model(tmp_path: Path) -> None:
    fake = tmp_path / "m.onnx"
    fake.write_text("nope")
    result = framescout("predict", str(tmp_path), "--model", str(fake), "--out", str(tmp_path / "p.json"))
    assert result.returncode == 1 and "not a loadable ONNX model" in result.stderr
    assert "Traceback" not in result.stderr


def test_select_by_model_uncertainty(nanodet_path: Path, coco_tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "pick.json"
    result = framescout(
        "select",
        "--images",
        str(coco_tiny / "val2017"),
        "--budget",
        "8",
        "--model",
        str(nanodet_path),
        "--classes",
        str(nanodet_path.parent / "coco.names"),
        "--strategy",
        "margin_kcenter",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "picked 8 by margin_kcenter" in result.stdout
    picked = json.loads(out.read_text())["picked"]
    assert len({row["path"] for row in picked}) == 8
