"""What chainrule's ONNX exports share: the `onnx` package imported on first use, a graph being
built (`_Graph`: nodes, constants in the model's own type, unique names) and each activation in
ONNX operators (the forms in `io.onnx`'s docstring). `io.onnx` (dense networks) and `io.onnx_shaped`
(shaped ones) build on it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.engine.activations import SELU_ALPHA, SELU_SCALE
from chainrule.engine.network import Layer
from chainrule.errors import ChainruleError

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
