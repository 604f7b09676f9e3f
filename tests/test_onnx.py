"""ONNX export: onnxruntime runs the exported forward pass and gets the engine's outputs, to 1e-6 in
float32 and 1e-12 in float64, for every activation chainrule has."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.engine.functions import ACTIVATIONS
from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.io.onnx import to_onnx
from helpers import CASES, random_document, run_cli

NAMES = sorted({a.name for a in ACTIVATIONS.values()})
# onnxruntime's CPU kernels have no float64 Erf: gelu is checked in float32 only.
ORT_FLOAT64 = [n for n in NAMES if n != "gelu"]


def _run(net: Network, x: np.ndarray, dtype: str) -> np.ndarray:
    model = to_onnx(net, dtype)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = session.run(["y"], {"x": x.astype(dtype)})
    assert y.dtype == np.dtype(dtype)
    return np.asarray(y, dtype=np.float64)


def _one_activation(name: str, rng: np.random.Generator) -> Network:
    """Inputs → a hidden layer of `name` (shared bias) → a layer of `name` or identity (no bias)."""
    out = name if name == "softmax" else "identity"
    doc = {
        "inputs": 3,
        "loss": "cross_entropy" if out == "softmax" else "half_squared_error",
        "layers": [
            {"units": 4, "activation": "tanh" if name == "softmax" else name, "bias": 0.3},
            {"units": 3, "activation": out, "weights": rng.normal(0, 1, (3, 4)).tolist()},
        ],
        "examples": [{"x": [0.0, 0.0, 0.0], "y": [0.2, 0.3, 0.5]}],
    }
    return netfile.from_dict(doc)


@pytest.mark.parametrize("name", ORT_FLOAT64)
def test_float64_export_equals_the_engine(name: str) -> None:
    rng = np.random.default_rng(len(name))
    net = _one_activation(name, rng)
    x = rng.normal(0, 3, (50, 3))  # both sides of every kink
    np.testing.assert_allclose(_run(net, x, "float64"), net.forward(x).output, rtol=1e-12, atol=1e-12)


def test_gelu_float64_is_said_to_need_float32_on_onnxruntime(tmp_path: Path) -> None:
    """No common runtime has a float64 Erf (onnxruntime has none; onnx's reference evaluator
    approximates to ~1e-7), so the command says so; float32 is checked with the other activations."""
    path = tmp_path / "gelu.toml"
    netfile.save(_one_activation("gelu", np.random.default_rng(1)), path)
    result, _ = run_cli(["export", str(path), "-o", str(tmp_path / "gelu.onnx"), "--dtype", "float64"])
    assert result.exit_code == 0 and "Erf" in result.stderr, result.stderr
    x = np.random.default_rng(2).normal(0, 3, (50, 3))
    net = netfile.load(path)
    np.testing.assert_allclose(_run(net, x, "float32"), net.forward(x).output, rtol=1e-6, atol=1e-6)


@settings(max_examples=60)
@given(st.integers(0, 2**32 - 1), st.sampled_from(CASES))
def test_float32_export_of_random_networks(seed: int, case: tuple[str, str]) -> None:
    rng = np.random.default_rng(seed)
    net = netfile.from_dict(random_document(rng, *case))
    x = rng.normal(0, 1, (8, len(net.input_names)))
    np.testing.assert_allclose(_run(net, x, "float32"), net.forward(x).output, rtol=1e-6, atol=1e-6)


@settings(max_examples=40)
@given(st.integers(0, 2**32 - 1), st.sampled_from([c for c in CASES if c[1] != "gelu"]))
def test_float64_export_of_random_networks(seed: int, case: tuple[str, str]) -> None:
    rng = np.random.default_rng(seed)
    doc = random_document(rng, *case)
    for layer in doc["layers"]:
        layer["activation"] = "tanh" if layer["activation"] == "gelu" else layer["activation"]
    net = netfile.from_dict(doc)
    x = rng.normal(0, 1, (8, len(net.input_names)))
    np.testing.assert_allclose(_run(net, x, "float64"), net.forward(x).output, rtol=1e-12, atol=1e-12)


def test_export_by_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "xor.onnx"
    result, _ = run_cli(["export", "xor", "-o", str(path)])
    assert result.exit_code == 0, result.stderr
    assert "forward pass only" in result.stderr and "shared bias" in result.stderr
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert {p.key: p.value for p in model.metadata_props} == {"inputs": "x1,x2", "outputs": "out"}
    net = netfile.load("xor")
    np.testing.assert_allclose(_run(net, net.x, "float32"), net.forward(net.x).output, rtol=1e-6, atol=1e-6)
    result, _ = run_cli(["export", "xor", "-o", str(tmp_path / "m.pt"), "--dtype", "float32"])
    assert result.exit_code == 2 and "--dtype" in result.stderr
