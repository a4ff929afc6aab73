"""`framescout rules explain` on predictions made by the real NanoDet-m model over real COCO images.

The predictions file is written here with a minimal, independent NanoDet-m decoder (the contract is in
../shared/models/nanodet-m/README.md), so this test checks the sampling side on real model output
without depending on the product's runners — and gives them something to agree with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from framescout.sampling import load_config
from helpers import framescout

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules"
MEAN = np.array([103.53, 116.28, 123.675], dtype=np.float32)
STD = np.array([57.375, 57.12, 58.395], dtype=np.float32)
SIZE, STRIDES = 416, (8, 16, 32)


def nanodet_predict(
    session: object, image: np.ndarray, names: list[str], threshold: float = 0.3
) -> list[dict[str, Any]]:
    """Letterbox (top-left), run, decode the GFL distributions, per-class NMS at IoU 0.6."""
    h, w = image.shape[:2]
    r = min(SIZE / h, SIZE / w)
    canvas = np.zeros((SIZE, SIZE, 3), dtype=np.float32)
    canvas[: round(h * r), : round(w * r)] = cv2.resize(image, (round(w * r), round(h * r)))
    blob = ((canvas - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)
    outputs = session.run(None, {"input.1": blob})  # type: ignore[attr-defined]
    boxes, scores = [], []
    for level, stride in enumerate(STRIDES):
        cls, reg = outputs[level][0], outputs[level + 3][0]
        side = SIZE // stride
        ys, xs = np.divmod(np.arange(side * side), side)
        cx, cy = xs * stride + 0.5 * (stride - 1), ys * stride + 0.5 * (stride - 1)
        bins = reg.reshape(-1, 4, 8)
        p = np.exp(bins - bins.max(axis=2, keepdims=True))
        dist = (p / p.sum(axis=2, keepdims=True) * np.arange(8)).sum(axis=2) * stride
        boxes.append(np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], axis=1))
        scores.append(cls)
    box, score = np.concatenate(boxes) / r, np.concatenate(scores)
    label, best = score.argmax(axis=1), score.max(axis=1)
    keep = best >= threshold
    box, label, best = box[keep], label[keep], best[keep]
    xywh = np.concatenate([box[:, :2], box[:, 2:] - box[:, :2]], axis=1)
    chosen = cv2.dnn.NMSBoxesBatched(xywh.tolist(), best.tolist(), label.tolist(), threshold, 0.6)
    out = []
    for i in np.asarray(chosen, dtype=int).reshape(-1):
        x1, y1, x2, y2 = np.clip(box[i], 0, [w, h, w, h])
        out.append(
            {
                "x": float(x1 + x2) / 2,
                "y": float(y1 + y2) / 2,
                "width": float(x2 - x1),
                "height": float(y2 - y1),
                "confidence": float(best[i]),
                "class": names[label[i]],
                "class_id": int(label[i]),
            }
        )
    return out


@pytest.fixture(scope="module")
def predictions_file(nanodet_path: Path, coco_tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(nanodet_path), providers=["CPUExecutionProvider"])
    names = (nanodet_path.parent / "coco.names").read_text().split("\n")
    frames = []
    for i, path in enumerate(sorted((coco_tiny / "val2017").glob("*.jpg"))):
        image = cv2.imread(str(path))
        assert image is not None
        frames.append(
            {
                "file": path.name,
                "image": {"width": image.shape[1], "height": image.shape[0]},
                "model_version": "1" if i < 40 else "3",
                "predictions": nanodet_predict(session, image, names),
            }
        )
    out = tmp_path_factory.mktemp("nanodet") / "predictions.json"
    out.write_text(json.dumps(frames))
    return out


def explain(rules: Path, predictions: Path) -> list[dict[str, Any]]:
    result = framescout("rules", "explain", str(rules), str(predictions), "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_the_model_really_detected_things(predictions_file: Path) -> None:
    frames = json.loads(predictions_file.read_text())
    assert len(frames) == 80
    boxes = [p for f in frames for p in f["predictions"]]
    assert len(boxes) > 150 and "person" in {p["class"] for p in boxes}
    assert min(p["confidence"] for p in boxes) < 0.4 < max(p["confidence"] for p in boxes)


@pytest.mark.parametrize("rules", sorted(EXAMPLES.glob("*.*")), ids=lambda p: p.name)
def test_explain_every_example_on_real_predictions(rules: Path, predictions_file: Path) -> None:
    decisions = explain(rules, predictions_file)
    frames = json.loads(predictions_file.read_text())
    assert [d["frame"] for d in decisions] == [f["file"] for f in frames]
    names = {r.name or r.type for r in load_config(rules).rules}
    for decision in decisions:
        assert decision["reason"]
        assert decision["keep"] == (decision["rule"] is not None)
        assert decision["rule"] is None or decision["rule"] in names


def test_default_rules_keep_exactly_the_frames_they_should(predictions_file: Path) -> None:
    """Frames one second apart; low-confidence is capped at 10 per moving minute."""
    decisions = explain(EXAMPLES / "default.yaml", predictions_file)
    frames = json.loads(predictions_file.read_text())
    expected: list[int] = []
    kept_at: list[int] = []  # an independent moving-window oracle
    for t, frame in enumerate(frames):
        if (
            any(p["confidence"] < 0.40 for p in frame["predictions"])
            and sum(k > t - 60 for k in kept_at) < 10
        ):
            kept_at.append(t)
            expected.append(frame["file"])
    assert len(expected) > 10  # the cap really bit, and credit came back in the second minute
    assert [d["frame"] for d in decisions if d["rule"] == "low-confidence"] == expected
    for decision, frame in zip(decisions, frames, strict=True):
        if decision["rule"] == "nothing-detected":
            assert frame["predictions"] == []
        if decision["rule"] is None and any(p["confidence"] < 0.40 for p in frame["predictions"]):
            assert "low-confidence" in decision["limited"]


def test_threshold_schedule_uses_the_model_version(predictions_file: Path) -> None:
    decisions = explain(EXAMPLES / "low-confidence.yaml", predictions_file)
    by_schedule = [d for d in decisions if d["rule"] == "below-schedule"]
    assert by_schedule
    assert all("model version 1" in d["reason"] or "model version 3" in d["reason"] for d in by_schedule)
    assert any("below 0.60" in d["reason"] for d in by_schedule if "version 3" in d["reason"])
