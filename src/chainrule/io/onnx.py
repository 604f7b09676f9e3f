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
import math
import os
from typing import Any

import numpy as np

from chainrule.engine.activations import SELU_ALPHA, SELU_SCALE
from chainrule.engine.model import Model
from chainrule.engine.network import Layer, Network
from chainrule.errors import ChainruleError
from chainrule.io.netwrite import write_atomic

OPSET = 17
IR_VERSION = 8  # what opset 17 came with: runtimes back to onnxruntime 1.13 read it


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ChainruleError("ONNX is not installed: pip install 'chainrule[onnx]'") from None
    return onnx


class _Graph:
    """Nodes and constants being collected, each output named uniquely."""

    def __init__(self, dtype: np.dtype[Any]) -> None:
        self.onnx = _onnx()
        self.dtype = dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value: Any, hint: str = "c") -> str:
        name = self.name(hint)
        array = np.asarray(value, dtype=self.dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, kind: str, *inputs: str, out: str | None = None, **attrs: Any) -> str:
        out = out or self.name(kind.lower())
        self.nodes.append(self.onnx.helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def elu(self, z: str, alpha: float) -> str:
        negative = self.op("Sub", self.op("Exp", self.op("Min", z, self.const(0.0))), self.const(1.0))
        return self.op("Where", self.op("Greater", z, self.const(0.0)), z, self.op("Mul", self.const(alpha), negative))


def _activation(g: _Graph, layer: Layer, z: str, out: str) -> str:
    """a = f(z) in ONNX operators (see the module's docstring for the forms)."""
    name, alpha = layer.activation.name, layer.alpha_value()
    simple = {"identity": "Identity", "sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
    if name in simple:
        return g.op(simple[name], z, out=out)
    if name == "softmax":
        return g.op("Softmax", z, out=out, axis=-1)
    if name == "prelu":
        return g.op("PRelu", z, g.const([alpha], "alpha"), out=out)
    if name == "leaky_relu":
        return g.op("Where", g.op("Greater", z, g.const(0.0)), z, g.op("Mul", g.const(alpha), z), out=out)
    if name == "elu":
        return g.op("Identity", g.elu(z, alpha), out=out)
    if name == "selu":
        return g.op("Mul", g.const(SELU_SCALE), g.elu(z, SELU_ALPHA), out=out)
    if name == "swish":
        return g.op("Mul", z, g.op("Sigmoid", z), out=out)
    if name == "gelu":
        erf = g.op("Erf", g.op("Mul", z, g.const(1.0 / math.sqrt(2.0))))
        half_z = g.op("Mul", g.const(0.5), z)
        return g.op("Mul", half_z, g.op("Add", g.const(1.0), erf), out=out)
    if name == "softplus":
        tail = g.op("Log", g.op("Add", g.const(1.0), g.op("Exp", g.op("Neg", g.op("Abs", z)))))
        return g.op("Add", g.op("Max", z, g.const(0.0)), tail, out=out)
    if name == "binary_step":
        ge = g.op("GreaterOrEqual", z, g.const(0.0))
        return g.op("Cast", ge, out=out, to=g.onnx.helper.np_dtype_to_tensor_dtype(g.dtype))
    raise ChainruleError(f"layer {layer.name!r}: activation {name} has no ONNX form")


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
