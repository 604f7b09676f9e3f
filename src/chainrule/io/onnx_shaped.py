"""ONNX for shaped networks: a Model's forward pass (prediction: batchnorm with its running
statistics) as an ONNX graph, each op as its ONNX operator:

    conv2d → Conv (pads top, left, bottom, right)     maxpool2d → MaxPool     avgpool2d → AveragePool
    (count_include_pad = 1, PyTorch's default)        batchnorm → BatchNormalization (inference)
    flatten → Flatten(axis = 1)    dense → Gemm(transB = 1)    residual → its inner ops, then Add(·, x)
    rnn → unrolled over its steps: Gather x_t, Gemm, Add, Tanh or Relu (Concat for every step's h_t)

then the op's activation in the forms of `io.onnx`. The input is "x" (n, *input shape), the output
"y" (n, *output shape). `io.onnx.to_onnx` dispatches here for a Model.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from chainrule.engine.layers.base import Op
from chainrule.engine.model import Model
from chainrule.errors import ChainruleError
from chainrule.io import modelops
from chainrule.io.onnx_graph import IR_VERSION, OPSET, _activation, _Graph, _onnx


def _as_layer(op: Op) -> Any:
    """What `io.onnx._activation` reads of a layer: its name, activation and α."""
    alpha = float(op.activation.alpha or 0.0)
    return types.SimpleNamespace(name=op.name, activation=op.activation, alpha_value=lambda: alpha)


def _window(table: dict[str, Any]) -> dict[str, Any]:
    pad_h, pad_w = table["padding"]
    return {"strides": list(table["stride"]), "pads": [pad_h, pad_w, pad_h, pad_w]}


def _ints(g: _Graph, values: int | list[int]) -> str:
    """An int64 constant (an index, Unsqueeze's axes), whatever the model's number type."""
    name = g.name("axes")
    g.initializers.append(g.onnx.numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
    return name


def _rnn(g: _Graph, op: Op, a: str, steps: int) -> str:
    """Unrolled over its steps (exact in any runtime and type; ONNX's RNN operator has no float64
    kernel in onnxruntime): h_t = f(x_t W_xᵀ + b_x + h_{t−1} W_hᵀ + b_h), h_0 = 0."""
    params = op.params()
    w = g.const(params["weight_ih_l0"], "Wx")
    r = g.const(params["weight_hh_l0"], "Wh") if steps > 1 else ""  # one step: h_0 = 0 never meets W_h
    b_x, b_h = g.const(params["bias_ih_l0"], "bx"), g.const(params["bias_hh_l0"], "bh")
    kind = "Tanh" if op.activation.name == "tanh" else "Relu"
    states: list[str] = []
    for t in range(steps):
        x_t = g.op("Gather", a, _ints(g, t), axis=1)
        z = g.op("Gemm", x_t, w, b_x, transB=1)
        recurrent = g.op("Gemm", states[-1], r, b_h, transB=1) if states else b_h  # h_0 = 0: only b_h
        z = g.op("Add", z, recurrent)
        states.append(g.op(kind, z))
    if modelops.table(op)["output"] == "last":
        return states[-1]
    return g.op("Concat", *(g.op("Unsqueeze", h, _ints(g, [1])) for h in states), axis=1)


def _map(g: _Graph, op: Op, a: str, shape: tuple[int, ...]) -> str:
    """z: the op's own map on a, in ONNX operators."""
    table, params = modelops.table(op), op.params()
    kind = op.kind
    if kind == "dense":
        inputs = [a, g.const(params["weight"], f"W_{op.name}")]
        return g.op("Gemm", *inputs, *([g.const(params["bias"], "b")] if "bias" in params else []), transB=1)
    if kind == "conv2d":
        weight = params["weight"]
        inputs = [a, g.const(weight, "W"), *([g.const(params["bias"], "b")] if "bias" in params else [])]
        return g.op("Conv", *inputs, kernel_shape=list(weight.shape[2:]), **_window(table))
    if kind in ("maxpool2d", "avgpool2d"):
        attrs: dict[str, Any] = {"kernel_shape": list(table["kernel"]), **_window(table)}
        if kind == "avgpool2d":
            attrs["count_include_pad"] = 1
        return g.op("MaxPool" if kind == "maxpool2d" else "AveragePool", a, **attrs)
    if kind == "batchnorm":
        kept = op.buffers()
        stats = [params["weight"], params["bias"], kept["running_mean"], kept["running_var"]]
        names = [g.const(v, role) for v, role in zip(stats, ("gamma", "beta", "mean", "var"), strict=True)]
        return g.op("BatchNormalization", a, *names, epsilon=float(table["eps"]))
    if kind == "flatten":
        return g.op("Flatten", a, axis=1)
    if kind == "residual":
        inner = a
        for each in getattr(op, "inner"):  # noqa: B009  (its shape is the block's, and stays so)
            inner = _op(g, each, inner, shape)
        return g.op("Add", inner, a)
    if kind == "rnn":
        return _rnn(g, op, a, shape[0])
    raise ChainruleError(f"layer {op.name!r}: a {kind} layer has no ONNX form")


def _op(g: _Graph, op: Op, a: str, shape: tuple[int, ...], out: str | None = None) -> str:
    """The op on a (one example of `shape`), then its activation."""
    z = _map(g, op, a, shape)
    if op.kind == "rnn":  # its activation is its recurrence's, applied at each step
        return g.op("Identity", z, out=out) if out else z
    return _activation(g, _as_layer(op), z, out or g.name(f"a_{op.kind}"))


def _fits(model: Model, dtype: np.dtype[Any]) -> None:
    most = float(np.finfo(dtype).max)
    for op in model.ops:
        for role, values in {**op.params(), **op.buffers()}.items():
            if values.size and float(np.max(np.abs(values))) > most:
                raise ChainruleError(
                    f"layer {op.name!r}: {role}: expected numbers within ±{most:.4g} for a {dtype} model "
                    "(export --dtype float64)"
                )


def to_onnx(model: Model, dtype: str = "float32") -> Any:
    """The forward pass as an onnx.ModelProto, checked by onnx.checker, in float32 or float64."""
    onnx = _onnx()
    g = _Graph(np.dtype(dtype))
    _fits(model, g.dtype)
    a = "x"
    shapes = model.shapes()
    for i, op in enumerate(model.ops):
        a = _op(g, op, a, shapes[i], "y" if i == len(model.ops) - 1 else None)
    elem = onnx.helper.np_dtype_to_tensor_dtype(g.dtype)
    graph = onnx.helper.make_graph(
        g.nodes,
        model.title or "chainrule network",
        [onnx.helper.make_tensor_value_info("x", elem, ["n", *shapes[0]])],
        [onnx.helper.make_tensor_value_info("y", elem, ["n", *shapes[-1]])],
        g.initializers,
    )
    made = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)], producer_name="chainrule", ir_version=IR_VERSION
    )
    onnx.checker.check_model(made, full_check=True)
    return made


def notes(model: Model, dtype: str = "float32") -> list[str]:
    """What an ONNX file does not carry of this network, for the command to say."""
    said = [f"ONNX holds the forward pass only: the loss ({model.loss.name}) and [training] are not in it"]
    if any(op.kind == "batchnorm" for op in model.ops):
        said.append("batchnorm predicts with its running statistics (ONNX's inference mode)")
    return said
