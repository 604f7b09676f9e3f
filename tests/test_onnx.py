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
from helpers import CASES, assert_one_line, random_document, run_cli

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


def _standardised_run(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, Path, np.ndarray]:
    """A network trained with --standardize on raw rows far from mean 0, std 1; the CSV and its rows."""
    x = rng.normal(rng.uniform(-50, 50, 3), rng.uniform(0.1, 20, 3), (40, 3))
    labels = np.where(x[:, 0] - x[:, 0].mean() > 0, "b,1", "a")  # a class name with a comma
    csv = tmp_path / "d.csv"
    csv.write_text(
        "p,q,r,kind\n"
        + "".join(f'{float(a)!r},{float(b)!r},{float(c)!r},"{k}"\n' for (a, b, c), k in zip(x, labels, strict=True))
    )
    net = tmp_path / "net.toml"
    net.write_text('inputs = 3\nloss = "cross_entropy"\n[[layers]]\nunits = 4\nactivation = "tanh"\n'
                   '[[layers]]\nunits = 2\nactivation = "softmax"\n')  # fmt: skip
    out = tmp_path / "trained.toml"
    args = ["train", str(net), "--data", str(csv), "--target", "kind", "--standardize", "--epochs", "5", "-q", "-o"]
    result, _ = run_cli([*args, str(out)])
    assert result.exit_code == 0, result.output
    return out, csv, x


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_standardized_network_exported_takes_raw_rows(dtype: str, tmp_path: Path) -> None:
    """The ONNX model fed the raw CSV rows gives `chainrule predict --data`'s outputs (1e-5): the
    standardisation is its first nodes (Sub, Div), and its class names are in the metadata."""
    import json

    trained, csv, x = _standardised_run(tmp_path, np.random.default_rng(4))
    model_path = tmp_path / "m.onnx"
    result, _ = run_cli(["export", str(trained), "-o", str(model_path), "--dtype", dtype])
    assert result.exit_code == 0 and "standardise" in result.stderr, result.stderr
    model = onnx.load(str(model_path))
    assert [n.op_type for n in model.graph.node[:2]] == ["Sub", "Div"]
    assert json.loads({p.key: p.value for p in model.metadata_props}["classes"]) == ["a", "b,1"]
    predicted, _ = run_cli(["predict", str(trained), "--data", str(csv), "--format", "json"])
    expected = np.array(json.loads(predicted.stdout)["outputs"])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = session.run(["y"], {"x": x.astype(dtype)})
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    raw = netfile.load(trained, require_examples=False).forward(x).output
    assert np.abs(raw - expected).max() > 1e-3  # the network fed the raw rows unstandardised differs


def test_float32_export_of_numbers_beyond_float32_is_refused(tmp_path: Path) -> None:
    net = netfile.load("xor")
    net.layers[0].weight[0, 1] = -1e39
    path = tmp_path / "big.toml"
    netfile.save(net, path)
    err = assert_one_line(["export", str(path), "-o", str(tmp_path / "big.onnx")])
    assert "layer 'h': weights: expected numbers within ±3.403e+38 for a float32 model, got -1e+39" in err
    assert not (tmp_path / "big.onnx").exists()
    result, _ = run_cli(["export", str(path), "-o", str(tmp_path / "big.onnx"), "--dtype", "float64"])
    assert result.exit_code == 0
