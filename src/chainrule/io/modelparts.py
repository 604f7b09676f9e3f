"""A shaped network file's layer tables, each validated on its own into a `LayerSpec`.

`modelfile` reads the document and assembles the `Model` from these. Every problem is a
`NetfileError` naming the file, the key (``layers[2].kernel``, ``layers[3].layers[0].weights``) and
what was expected; a layer whose input does not fit is named together with the layer feeding it.
Shapes are one example's (``(channels, height, width)``, ``(steps, features)`` or ``(features,)``),
computed here before any tensor is made, so that a size over the limits is refused before it is
allocated.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.engine import limits
from chainrule.engine.functions import ACTIVATIONS, Activation, known
from chainrule.errors import Shown
from chainrule.io.netparts import MISSING, Reader, with_guess

Shape = tuple[int, ...]
KINDS = ("dense", "conv2d", "maxpool2d", "avgpool2d", "flatten", "batchnorm", "residual", "rnn")
# The default name of each kind's layers: conv1, pool1, …; the last layer of the file is `out`.
PREFIX = {
    "dense": "fc",
    "conv2d": "conv",
    "maxpool2d": "pool",
    "avgpool2d": "pool",
    "flatten": "flat",
    "batchnorm": "bn",
    "residual": "res",
    "rnn": "rnn",
}
COMMON_KEYS = ("type", "name", "activation", "alpha", "tensor_names")
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "dense": ("units", "weights", "bias"),
    "conv2d": ("channels", "kernel", "stride", "padding", "weights", "bias"),
    "maxpool2d": ("kernel", "stride", "padding"),
    "avgpool2d": ("kernel", "stride", "padding"),
    "flatten": (),
    "batchnorm": ("gamma", "beta", "running_mean", "running_var", "eps", "momentum"),
    "residual": ("layers",),
    "rnn": ("units", "output", "weight_ih", "weight_hh", "bias_ih", "bias_hh"),
}
# The file's key for each tensor role (the role is PyTorch's state_dict name for the module).
TENSOR_KEYS: dict[str, dict[str, str]] = {
    "dense": {"weight": "weights", "bias": "bias"},
    "conv2d": {"weight": "weights", "bias": "bias"},
    "batchnorm": {"weight": "gamma", "bias": "beta", "running_mean": "running_mean", "running_var": "running_var"},
    "rnn": {
        "weight_ih_l0": "weight_ih",
        "weight_hh_l0": "weight_hh",
        "bias_ih_l0": "bias_ih",
        "bias_hh_l0": "bias_hh",
    },
}
BN_EPS, BN_MOMENTUM = 1e-5, 0.1  # PyTorch's


@dataclass
class LayerSpec:
    """One validated layer: its kind, name, activation, sizes, tensors by role and inner layers."""

    kind: str
    name: str
    activation: Activation
    in_shape: Shape
    out_shape: Shape
    sizes: dict[str, Any] = field(default_factory=dict)  # kernel, stride, padding, eps, momentum, output
    tensors: dict[str, np.ndarray | None] = field(default_factory=dict)  # role -> array (None: no bias)
    tensor_names: dict[str, str] = field(default_factory=dict)  # role -> a name the file gave
    inner: list[LayerSpec] = field(default_factory=list)


class Namer:
    """Default layer names, counted per kind across the whole file (inner layers included)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def next(self, kind: str) -> str:
        prefix = PREFIX[kind]
        self.counts[prefix] = self.counts.get(prefix, 0) + 1
        return f"{prefix}{self.counts[prefix]}"


@dataclass
class Context:
    """What every layer's reading shares: the reader, the random generator, the dtype, the names."""

    r: Reader
    rng: np.random.Generator
    dtype: Any
    namer: Namer = field(default_factory=Namer)
    parameters: int = 0  # learnt numbers so far, checked against the limit before each tensor is made


def tensor(r: Reader, value: object, key: str, shape: Shape, what: str) -> np.ndarray:
    """A tensor of exactly `shape` given as nested lists (a vector as a list); `what` says the axes."""
    if not shape:
        return np.array(r.number(value, key))
    expected = f"{' × '.join(map(str, shape))} numbers ({what}) as nested lists"
    if not isinstance(value, list) or len(value) != shape[0]:
        got = Shown(f"a list of {len(value)}") if isinstance(value, list) else value
        raise r.fail(key, expected, got)
    if len(shape) == 1:
        return np.array([r.number(v, f"{key}[{i}]") for i, v in enumerate(value)], dtype=float)
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != shape[1]:
            got = Shown(f"a list of {len(row)}") if isinstance(row, list) else row
            raise r.fail(f"{key}[{i}]", f"{' × '.join(map(str, shape[1:]))} numbers as nested lists", got)
    return np.array([tensor(r, row, f"{key}[{i}]", shape[1:], what) for i, row in enumerate(value)])


def fits(r: Reader, values: np.ndarray, key: str, dtype: Any) -> np.ndarray:
    """The values in the file's precision; one that overflows it (1e39 in float32) is refused by its key."""
    with np.errstate(over="ignore"):
        cast = np.asarray(values).astype(dtype)
    if np.isinf(cast).any():
        index = tuple(int(i) for i in np.argwhere(np.isinf(cast))[0])
        where = key + "".join(f"[{i}]" for i in index)
        raise r.fail(where, f"a number that fits in {np.dtype(dtype)}", float(np.asarray(values)[index]))
    return cast


def pair(r: Reader, raw: Mapping[str, Any], key: str, where: str, default: int | None, minimum: int) -> tuple[int, int]:
    """A size given as one whole number (both axes) or [height, width]."""
    if key not in raw:
        if default is None:
            raise r.fail(f"{where}.{key}", f"a whole number ≥ {minimum} or [height, width]", MISSING)
        return default, default
    value = raw[key]
    if isinstance(value, list) and len(value) == 2:
        return r.integer(value[0], f"{where}.{key}[0]", minimum), r.integer(value[1], f"{where}.{key}[1]", minimum)
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
        return value, value
    raise r.fail(f"{where}.{key}", f"a whole number ≥ {minimum} or [height, width]", value)


def activation(r: Reader, raw: Mapping[str, Any], where: str, kind: str) -> Activation:
    """The layer's activation (a dense layer's is required; others are identity unless given, an RNN's
    tanh), with its α."""
    default = "tanh" if kind == "rnn" else "identity"
    if kind == "dense" and "activation" not in raw:  # as in a dense network's file
        raise r.fail(f"{where}.activation", "an activation (" + ", ".join(known("activation")) + ")", MISSING)
    name = raw.get("activation", default)
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise r.fail(f"{where}.activation", "one of " + ", ".join(known("activation")), with_guess(name, ACTIVATIONS))
    act = ACTIVATIONS[name]
    if kind == "rnn" and act.name not in ("tanh", "relu"):
        raise r.fail(f"{where}.activation", '"tanh" or "relu" (a vanilla RNN\'s two)', name)
    if act.learnable_alpha:
        raise r.fail(f"{where}.activation", "an activation without a learnt α (PReLU only in dense networks)", name)
    if act.alpha is None:
        if "alpha" in raw:
            raise r.fail(f"{where}.alpha", f"no alpha: {act.name} takes none", raw["alpha"])
        return act
    if "alpha" not in raw:
        return act
    return dataclasses.replace(act, alpha=r.number(raw["alpha"], f"{where}.alpha"))


def initial(ctx: Context, scheme: str, shape: Shape, fan_in: int, fan_out: int) -> np.ndarray:
    """Random weights as the dense layers get them: He normal for the ReLU family, Xavier uniform otherwise."""
    if scheme == "he":
        return ctx.rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return ctx.rng.uniform(-bound, bound, size=shape)


def count(ctx: Context, shape: Shape, key: str) -> None:
    """Refuse a tensor that would take the network over the parameter limit, before it is made."""
    ctx.parameters += math.prod(shape)
    ctx.r.within(limits.PARAMETERS, ctx.parameters, key)


def learnt(
    ctx: Context, raw: Mapping[str, Any], where: str, key: str, shape: Shape, what: str, made: np.ndarray | None
) -> np.ndarray:
    """A learnt tensor: the file's (of exactly `shape`), else `made` (generated), else zeros."""
    count(ctx, shape, f"{where}.{key}")
    if key in raw:
        return fits(ctx.r, tensor(ctx.r, raw[key], f"{where}.{key}", shape, what), f"{where}.{key}", ctx.dtype)
    return made if made is not None else np.zeros(shape)


def bias(ctx: Context, raw: Mapping[str, Any], where: str, size: int) -> np.ndarray | None:
    """A bias of one number per unit or channel (zeros unless given), or none with ``bias = false``."""
    if raw.get("bias") is False:
        return None
    return learnt(ctx, raw, where, "bias", (size,), "one per unit or channel", None)


def tensor_names(r: Reader, raw: Mapping[str, Any], where: str, kind: str) -> dict[str, str]:
    """Names the file gives a layer's tensors: ``tensor_names = {weights = "K"}`` by the file's keys."""
    if "tensor_names" not in raw:
        return {}
    given = raw["tensor_names"]
    keys = {k: role for role, k in TENSOR_KEYS.get(kind, {}).items() if not k.startswith("running")}
    if not isinstance(given, dict) or not keys:
        raise r.fail(f"{where}.tensor_names", "a table of names by tensor (" + ", ".join(keys) + ")", given)
    named: dict[str, str] = {}
    for key, name in given.items():
        if key not in keys:
            raise r.fail(
                f"{where}.tensor_names.{key}", "one of the tensors " + ", ".join(keys), Shown("an unknown key")
            )
        named[keys[key]] = r.string(name, f"{where}.tensor_names.{key}")
    return named


def described(shape: Shape) -> str:
    """A shape for a message: (1, 6, 6) as 1×6×6."""
    return "×".join(map(str, shape)) if shape else "a number"


def misfit(r: Reader, where: str, fed_by: str, in_shape: Shape, expected: str) -> Exception:
    """The error for a layer whose input (the output of the layer before) does not fit."""
    return r.fail(where, f"{expected} as its input", Shown(f"{fed_by} of shape {described(in_shape)}"))
