"""Small ONNX graphs for tests of model loading and checking, built with the ``onnx`` package (a dev
dependency): a constant output of any shape, declared as any shape, behind any input shape."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from onnx import NodeProto, TensorProto, helper, numpy_helper, save

SIZE = 64
CELLS = 84  # stride 8/16/32 cells of a 64x64 input
Dim = int | str


def constant_model(
    path: Path,
    output: np.ndarray,
    *,
    declared: Sequence[Dim] | None = None,
    input_shape: Sequence[Dim] = (1, 3, SIZE, SIZE),
) -> Path:
    """A model whose one output is ``output`` (plus zero times the input's mean, so the input is
    consumed), declared as ``declared`` (by default its real shape)."""
    nodes = [
        helper.make_node("Constant", [], ["raw"], value=numpy_helper.from_array(output.astype(np.float32))),
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["raw", "z"], ["output0"]),
    ]
    return save_graph(path, nodes, input_shape, [("output0", list(declared or output.shape))])


def save_graph(
    path: Path, nodes: list[NodeProto], input_shape: Sequence[Dim], outputs: list[tuple[str, list[Dim]]]
) -> Path:
    graph = helper.make_graph(
        nodes,
        "crafted",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in outputs],
        initializer=[numpy_helper.from_array(np.zeros((), dtype=np.float32), "zero")]
        if any("zero" in getattr(n, "input", ()) for n in nodes)
        else [],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    save(model, str(path))
    return path


def yolov8(classes: int = 2) -> np.ndarray:
    rows = np.zeros((4 + classes, CELLS), dtype=np.float32)
    rows[:4, 0] = [32, 20, 16, 8]
    rows[4, 0] = 0.9
    return rows[None]


def nanodet_feature_encoder(nanodet: Path, folder: Path) -> dict[str, object]:
    """The real NanoDet-m with its deepest backbone feature map (stride 32) exposed as an output, saved
    in ``folder``: an image encoder. Returns the ``embedder`` settings of a novelty rule for it (the
    keys of `OnnxEmbedder`: NanoDet's BGR input and its mean/std)."""
    import onnx

    model = onnx.load(str(nanodet))
    lateral = next(n for n in model.graph.node if "fpn.lateral_convs.2.conv.weight" in n.input)
    layer = lateral.input[0]
    model.graph.output.append(helper.make_tensor_value_info(layer, TensorProto.FLOAT, None))
    path = folder / "nanodet-features.onnx"
    onnx.save(model, str(path))
    return {
        "onnx": str(path),
        "size": [416, 416],
        "channels": "bgr",
        "output": layer,
        "mean": [103.53 / 255, 116.28 / 255, 123.675 / 255],
        "std": [57.375 / 255, 57.12 / 255, 58.395 / 255],
    }
