"""YOLOv8, YOLOv5 and YOLOX layouts, run end to end on ONNX Runtime with small real ONNX graphs whose
outputs are crafted: one object, one overlapping duplicate, and background."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from framescout.models import ModelError, OnnxDetector

onnx = pytest.importorskip("onnx", reason="onnx (dev extra) builds the test graphs")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

SIZE = 64  # network input; the stride 8/16/32 pyramid has 8*8 + 4*4 + 2*2 = 84 cells
CELLS = 84
IMAGE = np.zeros((64, 128, 3), dtype=np.uint8)  # wider than tall: letterboxing matters


def model_with_output(path: Path, output: np.ndarray, names: dict[int, str] | None = None) -> Path:
    """An ONNX model with a [1, 3, 64, 64] input whose single output is ``output`` (as a constant plus
    zero times the input's mean, so the input is really consumed)."""
    const = helper.make_node(
        "Constant", [], ["raw"], value=numpy_helper.from_array(output.astype(np.float32))
    )
    mean = helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0)
    zero = helper.make_node("Mul", ["m", "zero"], ["z"])
    add = helper.make_node("Add", ["raw", "z"], ["output0"])
    graph = helper.make_graph(
        [const, mean, zero, add],
        "crafted",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))],
        initializer=[numpy_helper.from_array(np.zeros((), dtype=np.float32), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    if names is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = "names", str(names)
    onnx.save(model, str(path))
    return path


def yolov8_output() -> np.ndarray:
    rows = np.zeros((CELLS, 6), dtype=np.float32)  # cx, cy, w, h, class 0, class 1
    rows[0] = [32, 20, 16, 8, 0.05, 0.9]
    rows[1] = [33, 20, 16, 8, 0.02, 0.8]  # duplicate of the first: NMS removes it
    rows[2] = [10, 40, 6, 6, 0.6, 0.1]
    return rows.T[None]


def test_yolov8_centre_letterbox_and_nms(tmp_path: Path) -> None:
    path = model_with_output(tmp_path / "v8.onnx", yolov8_output(), names={0: "cat", 1: "dog"})
    detector = OnnxDetector(path)
    assert detector.format == "yolov8" and detector.class_names == ("cat", "dog")
    p = detector.predict(IMAGE, confidence=0.5)
    assert p.class_name == ("dog", "cat")
    # canvas 64x64 holds the 128x64 image at scale 0.5, centred: 16 px of padding above and below
    np.testing.assert_allclose(p.xyxy[0], [48, 0, 80, 16], atol=1e-4)
    np.testing.assert_allclose(p.xyxy[1], [14, 42, 26, 54], atol=1e-4)  # canvas (7, 37)-(13, 43)
    assert p.confidence.tolist() == pytest.approx([0.9, 0.6])


def test_yolov5_objectness_times_class(tmp_path: Path) -> None:
    rows = np.zeros((3 * CELLS, 7), dtype=np.float32)  # cx, cy, w, h, obj, class 0, class 1
    rows[5] = [32, 20, 16, 8, 0.9, 0.1, 0.9]
    rows[6] = [32, 21, 16, 8, 0.5, 0.1, 0.9]
    path = model_with_output(tmp_path / "v5.onnx", rows[None])
    detector = OnnxDetector(path, class_names=["cat", "dog"])
    assert detector.format == "yolov5"
    p = detector.predict(IMAGE, confidence=0.3)
    assert p.class_name == ("dog",) and p.confidence[0] == pytest.approx(0.81)
    np.testing.assert_allclose(p.xyxy[0], [48, 0, 80, 16], atol=1e-4)
    assert p.class_probs is not None and p.class_probs[0].tolist() == pytest.approx([0.1, 0.9])


def test_yolox_raw_grid_and_top_left_letterbox(tmp_path: Path) -> None:
    rows = np.zeros((CELLS, 7), dtype=np.float32)
    cell = 2 * 8 + 4  # stride 8, column 4, row 2
    rows[cell] = [0.0, 0.5, np.log(2.0), 0.0, 0.95, 0.9, 0.05]  # cx 32, cy 20, w 16, h 8 on the canvas
    path = model_with_output(tmp_path / "yolox.onnx", rows[None])
    detector = OnnxDetector(path, class_names=["cat", "dog"])
    assert detector.format == "yolox"
    p = detector.predict(IMAGE, confidence=0.5)
    assert p.class_name == ("cat",)
    np.testing.assert_allclose(p.xyxy[0], [48, 32, 80, 48], atol=1e-4)  # scale 0.5, no offset


def test_ambiguous_and_unknown_layouts_are_refused(tmp_path: Path) -> None:
    odd = model_with_output(tmp_path / "odd.onnx", np.zeros((1, 50, 7), dtype=np.float32))
    with pytest.raises(ModelError, match="cannot recognise the output layout"):
        OnnxDetector(odd, class_names=["a", "b"])
    forced = OnnxDetector(odd, class_names=["a", "b"], format="yolox-decoded")
    assert len(forced.predict(IMAGE)) == 0


def test_boxes_predicted_in_the_padding_are_dropped(tmp_path: Path) -> None:
    rows = np.zeros((CELLS, 6), dtype=np.float32)
    rows[0] = [32, 8, 10, 6, 0.0, 0.9]  # entirely inside the top padding band (rows 0-15 of the canvas)
    rows[1] = [32, 32, 10, 10, 0.8, 0.0]
    detector = OnnxDetector(
        model_with_output(tmp_path / "pad.onnx", rows.T[None]), class_names=["cat", "dog"]
    )
    p = detector.predict(IMAGE, confidence=0.5)
    assert p.class_name == ("cat",)  # the dog box mapped to zero height and is gone
