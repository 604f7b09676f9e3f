"""The one place a layer table of the file meets the engine's op: `build` makes an op from a
validated `LayerSpec`; `table` writes an op back as its layer table (the keys `modellayers` reads),
so that writing then reading gives the same op bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.engine.layers.base import Op
from chainrule.io.modelparts import TENSOR_KEYS, LayerSpec


def _cast(values: np.ndarray | None, dtype: Any) -> np.ndarray:
    """In the file's precision (no bias: an empty tensor, the engine's mark for none)."""
    if values is None:
        return np.zeros(0, dtype=dtype)
    with np.errstate(over="ignore"):
        return np.asarray(values).astype(dtype)


def build(spec: LayerSpec, dtype: Any) -> Op:
    """The engine's op for a layer table (its tensors in the file's precision); each op's module is
    imported when a file uses it."""
    t = {role: _cast(v, dtype) for role, v in spec.tensors.items()}
    act, renames = spec.activation, dict(spec.tensor_names)
    s = spec.sizes
    if spec.kind == "dense":
        from chainrule.engine.layers.dense import Dense

        return Dense(spec.name, t["weight"], t["bias"], act, renames)
    if spec.kind == "flatten":
        from chainrule.engine.layers.flatten import Flatten

        return Flatten(spec.name, act)
    if spec.kind == "conv2d":
        from chainrule.engine.layers.conv import Conv2d

        return Conv2d(
            name=spec.name,
            weight=t["weight"],
            bias=t["bias"],
            stride=s["stride"],
            padding=s["padding"],
            activation=act,
            renames=renames,
        )
    if spec.kind in ("maxpool2d", "avgpool2d"):
        from chainrule.engine.layers.pool import AvgPool2d, MaxPool2d

        pool = MaxPool2d if spec.kind == "maxpool2d" else AvgPool2d
        return pool(name=spec.name, kernel=s["kernel"], stride=s["stride"], padding=s["padding"], activation=act)
    if spec.kind == "batchnorm":
        from chainrule.engine.layers.norm import BatchNorm

        return BatchNorm(
            name=spec.name,
            weight=t["weight"],
            bias=t["bias"],
            running_mean=t["running_mean"],
            running_var=t["running_var"],
            eps=s["eps"],
            momentum=s["momentum"],
            activation=act,
            renames=renames,
        )
    if spec.kind == "residual":
        from chainrule.engine.layers.residual import Residual

        return Residual(name=spec.name, inner=[build(inner, dtype) for inner in spec.inner], activation=act)
    from chainrule.engine.layers.recurrent import RNN

    return RNN(
        name=spec.name,
        activation=act,
        weight_ih=t["weight_ih_l0"],
        weight_hh=t["weight_hh_l0"],
        bias_ih=t["bias_ih_l0"],
        bias_hh=t["bias_hh_l0"],
        output=s["output"],
        renames=renames,
    )


def nested(values: np.ndarray) -> Any:
    """A tensor as nested lists of Python floats (each reads back as the same float)."""
    return np.asarray(values, dtype=np.float64).tolist()


def table(op: Op, *, last: bool = False) -> dict[str, Any]:
    """The op's layer table in the file (type first; only what differs from the defaults besides)."""
    entry: dict[str, Any] = {"type": op.kind, "name": op.name}
    act = op.activation
    if op.kind == "dense" or act.name != ("tanh" if op.kind == "rnn" else "identity"):
        entry["activation"] = act.name
    if act.alpha is not None and act.alpha != _default_alpha(act.name):
        entry["alpha"] = float(act.alpha)
    sizes = _sizes(op)
    entry |= sizes
    keys = TENSOR_KEYS.get(op.kind, {})
    values = {**op.params(), **op.buffers()}
    for role, key in keys.items():
        if role in values:
            entry[key] = nested(values[role])
        elif role == "bias":
            entry["bias"] = False
    renames = dict(getattr(op, "renames", None) or {})
    if renames:
        entry["tensor_names"] = {keys[role]: name for role, name in renames.items()}
    if op.kind == "residual":
        entry["layers"] = [table(inner) for inner in getattr(op, "inner")]  # noqa: B009
    return entry


def _default_alpha(name: str) -> float | None:
    from chainrule.engine.functions import ACTIVATIONS

    return ACTIVATIONS[name].alpha


def _sizes(op: Op) -> dict[str, Any]:
    """The sizes a table states besides its tensors (kernel, stride, padding, eps, output)."""
    found: dict[str, Any] = {}
    if op.kind in ("maxpool2d", "avgpool2d", "conv2d"):
        for key in ("kernel", "stride", "padding"):
            if key == "kernel" and op.kind == "conv2d":
                continue
            value = getattr(op, key) or getattr(op, "kernel")  # noqa: B009  (a pool's stride None: its kernel)
            found[key] = [int(value[0]), int(value[1])]
    if op.kind == "batchnorm":
        found |= {"eps": float(getattr(op, "eps")), "momentum": float(getattr(op, "momentum"))}  # noqa: B009
    if op.kind == "rnn":
        found["output"] = getattr(op, "output")  # noqa: B009
    return found
