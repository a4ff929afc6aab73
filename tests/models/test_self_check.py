"""Model registration proves the model works: `verify_model` (and `framescout models add`, and the
server's model registry) refuse every kind of bad model file with a clear message — never a traceback.

The bad models are small ONNX graphs built here with the ``onnx`` package; the real NanoDet-m from
../shared must still pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from framescout.cli.app import app
from framescout.models import ModelError, verify_model

pytest.importorskip("onnx", reason="onnx (dev extra) builds the test graphs")
from onnx import helper, numpy_helper

from onnx_graphs import CELLS, SIZE, constant_model, save_graph, yolov8

runner = CliRunner()


def names_file(path: Path, count: int) -> Path:
    path.write_text("".join(f"class{i}\n" for i in range(count)))
    return path


def _bad_models(tmp: Path) -> dict[str, tuple[Path, str | None, int, str]]:
    """name -> (model file, --format, class count in the names file, what the message must say)."""
    good = constant_model(tmp / "good.onnx", yolov8())
    truncated = tmp / "truncated.onnx"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    garbage = tmp / "garbage.onnx"
    garbage.write_bytes(b"\x00\xffnot an onnx model at all" * 20)
    # Reshape to a fixed size only fails when it runs: the input's height and width are dynamic.
    runtime = save_graph(
        tmp / "runtime.onnx",
        [
            helper.make_node(
                "Constant", [], ["shape"], value=numpy_helper.from_array(np.array([1, 6, 999], np.int64))
            ),
            helper.make_node("Reshape", ["images", "shape"], ["output0"]),
        ],
        (1, 3, "h", "w"),
        [("output0", [1, 6, 999])],
    )
    return {
        "garbage bytes": (garbage, None, 2, "not a loadable ONNX model"),
        "truncated ONNX": (truncated, None, 2, "not a loadable ONNX model"),
        "wrong input rank": (
            constant_model(tmp / "rank.onnx", yolov8(), input_shape=(1, 3, SIZE)),
            None,
            2,
            "expected an image input [1, 3, H, W]",
        ),
        "real shape differs from the declared one": (
            save_graph(  # declares a YOLOv8 output, really returns the input's channel mean
                tmp / "lying.onnx",
                [helper.make_node("ReduceMean", ["images"], ["output0"], axes=[1], keepdims=0)],
                (1, 3, "h", "w"),
                [("output0", [1, 6, CELLS])],
            ),
            None,
            2,
            "declared as [1, 6, 84] but the model really returns [1, 640, 640]",
        ),
        "declared shape that contradicts the graph": (  # onnxruntime relaxes the declared 6 to unknown
            constant_model(tmp / "contradicts.onnx", yolov8(classes=3), declared=[1, 6, CELLS]),
            "yolov8",
            2,
            "really predicts 3 classes but 2 class names",
        ),
        "dynamic output that turns out wrong": (
            constant_model(tmp / "dynamic.onnx", yolov8(classes=5), declared=[1, "c", "n"]),
            "yolov8",
            2,
            "predicts 5 classes but 2 class names",
        ),
        "class count mismatch": (good, None, 3, "predicts 2 classes but 3 class names"),
        "raises at run time": (runtime, "yolov8", 2, "failed to run"),
        "IndexError in a decoder": (  # NanoDet's decoder wants six outputs, this model has one
            constant_model(tmp / "one-output.onnx", np.zeros((1, CELLS, 2), np.float32)),
            "nanodet",
            2,
            "cannot be decoded as nanodet (IndexError",
        ),
        "rank the layout cannot read": (
            constant_model(tmp / "flat.onnx", np.zeros(90, np.float32)),
            "yolov8",
            2,
            "does not fit a supported layout",
        ),
        "NaN outputs": (
            constant_model(tmp / "nan.onnx", np.where(yolov8() > 0, np.nan, 0.0)),
            None,
            2,
            "NaN or infinite",
        ),
    }


CASES = [
    "garbage bytes",
    "truncated ONNX",
    "wrong input rank",
    "real shape differs from the declared one",
    "declared shape that contradicts the graph",
    "dynamic output that turns out wrong",
    "class count mismatch",
    "raises at run time",
    "IndexError in a decoder",
    "rank the layout cannot read",
    "NaN outputs",
]


@pytest.mark.parametrize("case", CASES)
def test_verify_model_refuses_bad_models(case: str, tmp_path: Path) -> None:
    path, fmt, classes, expected = _bad_models(tmp_path)[case]
    with pytest.raises(ModelError) as refused:
        verify_model(path, class_names=[f"c{i}" for i in range(classes)], format=fmt)
    assert expected in str(refused.value)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    assert runner.invoke(app, ["projects", "create", "ws/p", "--data-dir", str(data)]).exit_code == 0
    return data


@pytest.mark.parametrize("case", CASES)
def test_models_add_refuses_with_a_message_and_exit_1(case: str, tmp_path: Path, data_dir: Path) -> None:
    path, fmt, classes, expected = _bad_models(tmp_path)[case]
    names = names_file(tmp_path / "names.txt", classes)
    args = ["models", "add", "ws/p", "1", "--onnx", str(path), "--classes", str(names)]
    result = runner.invoke(app, [*args, "--format", fmt or "auto", "--data-dir", str(data_dir)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert "Traceback" not in result.output
    assert "refused, the model cannot be served" in result.output and expected in result.output
    assert not list((data_dir / "models").glob("*.onnx"))  # nothing was stored


def test_a_working_model_registers_and_reports_its_check(tmp_path: Path, data_dir: Path) -> None:
    path = constant_model(tmp_path / "good.onnx", yolov8())
    names = names_file(tmp_path / "names.txt", 2)
    result = runner.invoke(
        app,
        [
            "models",
            "add",
            "ws/p",
            "1",
            "--onnx",
            str(path),
            "--classes",
            str(names),
            "--data-dir",
            str(data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "checked: yolov8, 64x64 input, outputs [1, 6, 84], 2 classes" in result.output
    assert f"data directory: {data_dir.resolve()}" in result.output
    assert len(list((data_dir / "models").glob("*.onnx"))) == 1


def test_models_add_into_an_unknown_project_copies_nothing(tmp_path: Path, data_dir: Path) -> None:
    path = constant_model(tmp_path / "good.onnx", yolov8())
    names = names_file(tmp_path / "names.txt", 2)
    result = runner.invoke(
        app,
        [
            "models",
            "add",
            "ws/nope",
            "1",
            "--onnx",
            str(path),
            "--classes",
            str(names),
            "--data-dir",
            str(data_dir),
        ],
    )
    assert result.exit_code == 1 and "no project 'nope'" in result.output
    assert not list((data_dir / "models").iterdir())


def test_real_nanodet_passes_the_check(nanodet_path: Path) -> None:
    names = [line for line in nanodet_path.with_name("coco.names").read_text().splitlines() if line.strip()]
    detector, check = verify_model(nanodet_path, class_names=names)
    assert detector.format == "nanodet" and check.classes == 80
    assert check.output_shapes[0] == (1, 2704, 80)
    with pytest.raises(ModelError, match="predicts 80 classes but 79"):
        verify_model(nanodet_path, class_names=names[:-1])
