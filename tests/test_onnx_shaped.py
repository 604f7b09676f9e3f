"""ONNX export of shaped networks (#26): the exported forward pass of random
conv2d/pooling/batchnorm/residual/rnn Models gives the engine's prediction (batchnorm on its running
statistics) to 1e-9 in float64 (onnx's reference evaluator) and 1e-5 in float32 (onnxruntime); the
command exports the built-in ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from hypothesis import given
from hypothesis import strategies as st
from onnx.reference import ReferenceEvaluator

from chainrule.engine.model import Model
from chainrule.io import loader, modelfile
from chainrule.io.onnx import to_onnx
from helpers import run_cli
from test_modelfile import random_document


def _run(model: Model, dtype: str) -> np.ndarray:
    """The exported model run by onnxruntime (float32), or by onnx's reference evaluator (float64:
    onnxruntime's CPU kernels have no float64 Conv)."""
    proto = to_onnx(model, dtype)
    if dtype == "float64":
        (y,) = ReferenceEvaluator(proto).run(["y"], {"x": model.x.astype(dtype)})
    else:
        session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        (y,) = session.run(["y"], {"x": model.x.astype(dtype)})
    assert y.dtype == np.dtype(dtype) and y.shape == model.y.shape
    return np.asarray(y, dtype=np.float64)


@given(seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from(["float64", "float32"]))
def test_onnxruntime_predicts_what_the_engine_predicts(seed: int, dtype: str) -> None:
    doc = random_document(seed)
    doc["training"]["dtype"] = "float64"
    model = modelfile.from_dict(doc)
    expected = model.forward(model.x, training=False).output
    # float64: the runtimes sum a window or a row in their own order, and a small running variance
    # (random ones here) magnifies the last digits' difference
    close = {"rtol": 1e-9, "atol": 1e-11} if dtype == "float64" else {"rtol": 1e-4, "atol": 1e-5}
    np.testing.assert_allclose(_run(model, dtype), expected, **close)


def test_every_layer_type_has_its_onnx_operator() -> None:
    doc = {
        "inputs": [1, 5, 5],
        "loss": "half_squared_error",
        "layers": [
            {"type": "conv2d", "channels": 2, "kernel": 3, "padding": 1, "activation": "relu"},
            {"type": "batchnorm", "running_mean": [0.5, -0.5], "running_var": [2.0, 0.5]},
            {"type": "residual", "layers": [{"type": "conv2d", "channels": 2, "kernel": 3, "padding": 1}]},
            {"type": "maxpool2d", "kernel": 2},
            {"type": "avgpool2d", "kernel": 2, "stride": 1, "padding": 1},
            {"type": "flatten"},
            {"units": 2, "activation": "sigmoid"},
        ],
        "examples": [{"x": np.random.default_rng(1).normal(size=(1, 5, 5)).tolist(), "y": [0.0, 1.0]}],
    }
    model = modelfile.from_dict(doc)
    ops = {node.op_type for node in to_onnx(model, "float64").graph.node}
    assert {"Conv", "BatchNormalization", "Add", "MaxPool", "AveragePool", "Flatten", "Gemm", "Sigmoid"} <= ops
    np.testing.assert_allclose(_run(model, "float64"), model.forward(model.x, training=False).output, rtol=1e-12)


def test_the_rnn_example_is_unrolled_over_its_four_steps() -> None:
    model = loader.load("rnn")
    assert isinstance(model, Model)
    assert [node.op_type for node in to_onnx(model, "float64").graph.node].count("Tanh") == 4
    np.testing.assert_allclose(_run(model, "float64"), model.forward(model.x, training=False).output, rtol=1e-12)


def test_the_command_exports_the_conv_example(tmp_path: Path) -> None:
    for name in ("conv.onnx", "conv.pt"):
        result, warned = run_cli(["export", "conv", "-o", str(tmp_path / name)])
        assert result.exit_code == 0 and not warned, result.output
    onnx.checker.check_model(onnx.load(str(tmp_path / "conv.onnx")), full_check=True)
    result, _ = run_cli(["import", str(tmp_path / "conv.pt")])
    assert result.exit_code == 0 and 'type = "conv2d"' in result.stdout
