"""The NanoDet-m runner on real COCO images: the correctness bar (COCO AP) and everyday use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from framescout.imaging import ImageError
from framescout.models import ModelError, OnnxDetector, load_class_names
from framescout.models.evaluation import coco_ap


@pytest.fixture(scope="module")
def detector(nanodet_path: Path) -> OnnxDetector:
    return OnnxDetector(nanodet_path, class_names=load_class_names(nanodet_path.parent / "coco.names"))


@pytest.mark.slow
def test_coco_ap_matches_the_reference_decoder(detector: OnnxDetector, coco_tiny: Path) -> None:
    pytest.importorskip("pycocotools", reason="pycocotools is in the dev extra")
    score = coco_ap(detector, coco_tiny / "annotations" / "instances_val2017.json", coco_tiny / "val2017")
    assert score.images == 80
    assert abs(score.ap - 0.28) <= 0.01, score
    assert abs(score.ap50 - 0.43) <= 0.015, score


def test_layout_and_input_are_read_from_the_model(detector: OnnxDetector) -> None:
    assert detector.format == "nanodet" and detector.input_size == (416, 416)
    assert len(detector.class_names) == 80 and detector.class_names[0] == "person"


def test_predicts_people_on_a_real_photo(detector: OnnxDetector, nanodet_path: Path) -> None:
    photo = nanodet_path.parents[2] / "data" / "samples" / "person.jpg"
    if not photo.exists():
        pytest.skip(f"needs {photo}")
    predictions = detector.predict(photo, confidence=0.35)
    assert "person" in predictions.names_present
    assert predictions.image_width and predictions.image_height
    assert (predictions.xyxy[:, 2] <= predictions.image_width).all()
    assert predictions.class_probs is not None and predictions.class_probs.shape == (len(predictions), 80)
    assert np.allclose(predictions.class_probs.max(axis=1), predictions.confidence, atol=1e-5)
    many = detector.predict(photo, confidence=0.05, multi_label=True)
    assert len(many) >= len(predictions)


def test_bad_models_and_images_fail_clearly(
    nanodet_path: Path, tmp_path: Path, detector: OnnxDetector
) -> None:
    with pytest.raises(ModelError, match="predicts 80 classes but 3 class names"):
        OnnxDetector(nanodet_path, class_names=["a", "b", "c"])
    not_onnx = tmp_path / "model.onnx"
    not_onnx.write_bytes(b"this is not a model")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        OnnxDetector(not_onnx)
    with pytest.raises(ModelError, match="not found"):
        OnnxDetector(tmp_path / "missing.onnx")
    with pytest.raises(ModelError, match="unknown format"):
        OnnxDetector(nanodet_path, format="yolov99")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(ImageError):
        detector.predict(broken)


def test_class_name_files(tmp_path: Path) -> None:
    (tmp_path / "names.txt").write_text("cat\n\ndog\n")
    (tmp_path / "data.yaml").write_text("names:\n  0: cat\n  1: dog\n")
    (tmp_path / "list.json").write_text('["cat", "dog"]')
    (tmp_path / "gappy.yaml").write_text("names: {0: cat, 2: dog}\n")
    for name in ("names.txt", "data.yaml", "list.json"):
        assert load_class_names(tmp_path / name) == ("cat", "dog")
    with pytest.raises(ModelError, match="without gaps"):
        load_class_names(tmp_path / "gappy.yaml")
    with pytest.raises(ModelError, match="cannot read"):
        load_class_names(tmp_path / "missing.txt")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)  # was a RecursionError traceback
    with pytest.raises(ModelError, match="nested too deeply"):
        load_class_names(tmp_path / "deep.json")
