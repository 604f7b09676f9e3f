"""ONNX: the network's forward pass as an ONNX model, written with the `onnx` package's helpers.

Layer i is z_i = Gemm(a_{i-1}, W_i, b_i, transB=1) (a_prev · Wᵀ + b) then a_i = f(z_i). Where an
activation's ONNX operator takes its constant as a float32 attribute (LeakyRelu, Elu, Selu) or has
no double kernel in common runtimes (Softplus, Gelu), f is written from elementary operators with
constants in the model's own type, so a float64 export is exact to rounding:

    leaky_relu(z) = Where(z > 0, z, α z)        elu(z) = Where(z > 0, z, α (e^min(z,0) − 1))
    selu(z) = λ elu_α(z)                          swish(z) = z σ(z)
    gelu(z) = ½ z (1 + erf(z / √2))               softplus(z) = max(z, 0) + log(1 + e^(−|z|))
    binary_step(z) = Cast(z ≥ 0)

The model holds the forward pass only (input "x" (n, inputs), output "y" (n, outputs)); the loss,
[training] and frozen marks have no place in it, and a shared bias is written once per neuron.
A network trained with --standardize takes raw rows: its saved x' = (x − mean) / std is the
graph's first two nodes (Sub, Div), and its class names are the model's metadata ("classes"), so
the model fed the rows `chainrule predict` reads gives predict's outputs. A float32 model refuses
a number beyond float32's range (it would be inf) with one line.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from chainrule.engine.model import Model
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.io.netwrite import write_atomic
from chainrule.io.onnx_graph import IR_VERSION, OPSET, _activation, _Graph, _onnx


def _fits(net: Network, dtype: np.dtype[Any]) -> None:
    """Every number the model holds within `dtype`'s range (float32's is ±3.4e38), else one line."""
    most = float(np.finfo(dtype).max)
    info = net.data
    held = [
        (f"layer {la.name!r}: {what}", np.asarray(v, dtype=np.float64))
        for la in net.layers
        for what, v in (("weights", la.weight), ("bias", la.bias), ("alpha", la.alpha))
    ]
    if info is not None and info.mean:
        held += [("data.mean", np.asarray(info.mean, np.float64)), ("data.std", np.asarray(info.std, np.float64))]
    for where, array in held:
        if array.size and float(np.max(np.abs(array))) > most:
            raise ChainruleError(f"{where}: expected numbers within ±{most:.4g} for a {dtype} model, got "
                                 f"{float(array.flat[np.argmax(np.abs(array))]):.6g} (export --dtype float64)")  # fmt: skip


def _standardised(g: _Graph, net: Network) -> str:
    """x' = (x − mean) / std, where the network was trained on standardised inputs; else x."""
    info = net.data
    if info is None or not info.mean:
        return "x"
    return g.op("Div", g.op("Sub", "x", g.const(info.mean, "mean")), g.const(info.std, "std"), out="x_standardised")


def to_onnx(net: Network | Model, dtype: str = "float32") -> Any:
    """The forward pass as an onnx.ModelProto, checked by onnx.checker, in float32 or float64 (a
    shaped network's: `onnx_shaped`)."""
    onnx = _onnx()
    if dtype not in ("float32", "float64"):
        raise ChainruleError(f"--dtype: expected float32 or float64, got {dtype!r}")
    if isinstance(net, Model):
        from chainrule.io import onnx_shaped

        return onnx_shaped.to_onnx(net, dtype)
    g = _Graph(np.dtype(dtype))
    _fits(net, g.dtype)
    a = _standardised(g, net)
    for i, layer in enumerate(net.layers):
        weight = g.const(layer.weight, f"W_{i + 1}")
        inputs = [a, weight] if layer.bias_mode == "none" else [a, weight, g.const(layer.bias_vector(), f"b_{i + 1}")]
        z = g.op("Gemm", *inputs, out=f"z_{i + 1}", transB=1)
        a = _activation(g, layer, z, "y" if i == len(net.layers) - 1 else f"a_{i + 1}")
    elem = onnx.helper.np_dtype_to_tensor_dtype(g.dtype)
    graph = onnx.helper.make_graph(
        g.nodes,
        net.title or "chainrule network",
        [onnx.helper.make_tensor_value_info("x", elem, ["n", len(net.input_names)])],
        [onnx.helper.make_tensor_value_info("y", elem, ["n", net.output_layer.units])],
        g.initializers,
    )
    model = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)], producer_name="chainrule", ir_version=IR_VERSION
    )
    names = {"inputs": net.input_names, "outputs": net.output_layer.neuron_names}
    props = {k: ",".join(v) for k, v in names.items()}
    if net.data is not None and net.data.classes:  # JSON: a class name may hold a comma
        props["classes"] = json.dumps(net.data.classes, ensure_ascii=False)
    onnx.helper.set_model_props(model, props)
    onnx.checker.check_model(model, full_check=True)
    return model


def notes(net: Network | Model, dtype: str = "float32") -> list[str]:
    """What an ONNX file does not carry of this network, for the command to say."""
    if isinstance(net, Model):
        from chainrule.io import onnx_shaped

        return onnx_shaped.notes(net, dtype)
    said = [f"ONNX holds the forward pass only: the loss ({net.loss.name}) and [training] are not in it"]
    shared = [la.name for la in net.layers if la.bias_mode == "shared"]
    if shared:
        said.append(f"the shared bias of layer(s) {', '.join(shared)} is written once per neuron")
    if dtype == "float64" and any(la.activation.name == "gelu" for la in net.layers):
        said.append(
            "gelu uses Erf, which onnxruntime has in float32 only: run this float64 model elsewhere, or export float32"
        )
    if net.training.freeze:
        said.append("frozen parameters are ordinary constants in ONNX (it has no training)")
    if net.data is not None and net.data.mean:
        said.append("the model takes raw inputs: its first nodes standardise them, (x − mean) / std, as predict does")
    return said


def save_onnx(net: Network | Model, path: str | os.PathLike[str], dtype: str = "float32") -> list[str]:
    """Write the model atomically; returns the notes on what it does not carry."""
    write_atomic(path, to_onnx(net, dtype).SerializeToString())
    return notes(net, dtype)
