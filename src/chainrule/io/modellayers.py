"""Each layer type's table in a shaped network file: its sizes, its tensors and its output shape.

`layers` reads a list of layer tables (the file's, or a residual block's inner ones), each fed by
the one before; `modelfile` assembles the Model from the specs. The tables' keys are listed in
`modelparts.KIND_KEYS` and documented in docs/network-file.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from chainrule.engine import limits
from chainrule.errors import Shown
from chainrule.io.modelparts import (
    BN_EPS,
    BN_MOMENTUM,
    COMMON_KEYS,
    KIND_KEYS,
    KINDS,
    Context,
    LayerSpec,
    Shape,
    activation,
    bias,
    described,
    fits,
    initial,
    learnt,
    misfit,
    pair,
    tensor,
    tensor_names,
)
from chainrule.io.netparts import MISSING, with_guess


def _size(ctx: Context, raw: Mapping[str, Any], where: str, key: str, tensor_key: str) -> int:
    """A count (units, channels) given, or read from the rows of the given tensor."""
    r = ctx.r
    if key in raw:
        size = r.integer(raw[key], f"{where}.{key}", 1)
    elif isinstance(raw.get(tensor_key), list) and raw[tensor_key]:
        size = len(raw[tensor_key])
    else:
        raise r.fail(f"{where}.{key}", "a whole number ≥ 1", MISSING)
    r.within(limits.UNITS, size, f"{where}.{key}")
    return size


def _dense(ctx: Context, raw: Mapping[str, Any], spec: LayerSpec, where: str, fed_by: str) -> None:
    if len(spec.in_shape) != 1:
        raise misfit(ctx.r, where, fed_by, spec.in_shape, "one vector of features (put a flatten layer before)")
    fan_in = spec.in_shape[0]
    units = _size(ctx, raw, where, "units", "weights")
    made = initial(ctx, spec.activation.init, (units, fan_in), fan_in, units)
    spec.tensors["weight"] = learnt(ctx, raw, where, "weights", (units, fan_in), "units × inputs", made)
    spec.tensors["bias"] = bias(ctx, raw, where, units)
    spec.out_shape = (units,)


def _window(ctx: Context, raw: Mapping[str, Any], spec: LayerSpec, where: str, fed_by: str, pool: bool) -> None:
    """The sizes every windowed layer shares; the output's height and width."""
    r = ctx.r
    if len(spec.in_shape) != 3:
        raise misfit(r, where, fed_by, spec.in_shape, "feature maps of shape channels×height×width")
    given = raw.get("weights")
    kernel_default = None
    if not pool and isinstance(given, list) and given and isinstance(given[0], list) and given[0]:
        first = given[0][0]
        if isinstance(first, list) and first and isinstance(first[0], list):
            kernel_default = len(first) if len(first) == len(first[0]) else None
    kh, kw = pair(r, raw, "kernel", where, kernel_default, 1)
    stride = (kh, kw) if pool and "stride" not in raw else pair(r, raw, "stride", where, 1, 1)
    padding = pair(r, raw, "padding", where, 0, 0)
    if pool and (2 * padding[0] > kh or 2 * padding[1] > kw):
        raise r.fail(f"{where}.padding", "at most half the kernel (PyTorch's rule for pooling)", raw["padding"])
    _, h, w = spec.in_shape
    if h + 2 * padding[0] < kh or w + 2 * padding[1] < kw:
        expected = f"a kernel of {kh}×{kw} that fits its padded input of {h + 2 * padding[0]}×{w + 2 * padding[1]}"
        raise r.fail(f"{where}.kernel", expected, Shown(f"{fed_by} of shape {described(spec.in_shape)}"))
    out_h = (h + 2 * padding[0] - kh) // stride[0] + 1
    out_w = (w + 2 * padding[1] - kw) // stride[1] + 1
    spec.sizes.update(kernel=(kh, kw), stride=stride, padding=padding)
    spec.out_shape = (spec.in_shape[0], out_h, out_w)


def _conv(ctx: Context, raw: Mapping[str, Any], spec: LayerSpec, where: str, fed_by: str) -> None:
    _window(ctx, raw, spec, where, fed_by, pool=False)
    channels_in = spec.in_shape[0]
    out = _size(ctx, raw, where, "channels", "weights")
    kh, kw = spec.sizes["kernel"]
    shape = (out, channels_in, kh, kw)
    made = initial(ctx, spec.activation.init, shape, channels_in * kh * kw, out * kh * kw)
    what = "out channels × in channels × kernel height × kernel width"
    spec.tensors["weight"] = learnt(ctx, raw, where, "weights", shape, what, made)
    spec.tensors["bias"] = bias(ctx, raw, where, out)
    spec.out_shape = (out, *spec.out_shape[1:])


def _pool(ctx: Context, raw: Mapping[str, Any], spec: LayerSpec, where: str, fed_by: str) -> None:
    _window(ctx, raw, spec, where, fed_by, pool=True)


def _flatten(ctx: Context, raw: Mapping[str, Any], spec: LayerSpec, where: str, fed_by: str) -> None:
    size = 1
    for n in spec.in_shape:
        size *= n
    spec.out_shape = (size,)


def _batchnorm(ctx: Context, raw: Mapping[str, Any], spec: LayerSpec, where: str, fed_by: str) -> None:
    r = ctx.r
    if len(spec.in_shape) not in (1, 3):
        raise misfit(r, where, fed_by, spec.in_shape, "features or feature maps (channels×height×width)")
    n = spec.in_shape[0]
    for role, key, fill in (("weight", "gamma", 1.0), ("bias", "beta", 0.0)):
        spec.tensors[role] = learnt(ctx, raw, where, key, (n,), "one per channel", np.full(n, fill))
    for key, fill in (("running_mean", 0.0), ("running_var", 1.0)):
        given = raw.get(key)
        values = np.full(n, fill) if given is None else tensor(r, given, f"{where}.{key}", (n,), "per channel")
        spec.tensors[key] = fits(r, values, f"{where}.{key}", ctx.dtype)
    if "running_var" in raw and not bool(np.all(np.asarray(spec.tensors["running_var"]) >= 0)):
        raise r.fail(f"{where}.running_var", "variances ≥ 0", raw["running_var"])
    eps = r.number(raw.get("eps", BN_EPS), f"{where}.eps")
    momentum = r.number(raw.get("momentum", BN_MOMENTUM), f"{where}.momentum")
    if not eps > 0:
        raise r.fail(f"{where}.eps", "a number > 0", raw["eps"])
    if not 0 <= momentum <= 1:
        raise r.fail(f"{where}.momentum", "a number in [0, 1]", raw["momentum"])
    spec.sizes.update(eps=eps, momentum=momentum)
    spec.out_shape = spec.in_shape


def _rnn(ctx: Context, raw: Mapping[str, Any], spec: LayerSpec, where: str, fed_by: str) -> None:
    r = ctx.r
    if len(spec.in_shape) != 2:
        raise misfit(r, where, fed_by, spec.in_shape, "a sequence of shape steps×features")
    steps, features = spec.in_shape
    units = _size(ctx, raw, where, "units", "weight_ih")
    output = raw.get("output", "last")
    if output not in ("last", "all"):
        raise r.fail(f"{where}.output", '"last" (the last hidden state) or "all" (every step\'s)', output)
    bound = 1.0 / units**0.5  # PyTorch's uniform(−1/√units, 1/√units) for every RNN tensor
    for role, key, shape, what in (
        ("weight_ih_l0", "weight_ih", (units, features), "units × features"),
        ("weight_hh_l0", "weight_hh", (units, units), "units × units"),
        ("bias_ih_l0", "bias_ih", (units,), "one per unit"),
        ("bias_hh_l0", "bias_hh", (units,), "one per unit"),
    ):
        made = ctx.rng.uniform(-bound, bound, size=shape)
        spec.tensors[role] = learnt(ctx, raw, where, key, shape, what, made)
    spec.sizes["output"] = output
    spec.out_shape = (units,) if output == "last" else (steps, units)


def _residual(ctx: Context, raw: Mapping[str, Any], spec: LayerSpec, where: str, fed_by: str) -> None:
    r = ctx.r
    spec.inner = layers(ctx, raw.get("layers"), f"{where}.layers", spec.in_shape, f"the input of {where}", last=False)
    out = spec.inner[-1].out_shape
    if out != spec.in_shape:
        expected = f"inner layers whose output has its input's shape {described(spec.in_shape)} (the sum x + F(x))"
        raise r.fail(f"{where}.layers[{len(spec.inner) - 1}]", expected, Shown(f"an output of shape {described(out)}"))
    spec.out_shape = spec.in_shape


READERS: dict[str, Callable[[Context, Mapping[str, Any], LayerSpec, str, str], None]] = {
    "dense": _dense,
    "conv2d": _conv,
    "maxpool2d": _pool,
    "avgpool2d": _pool,
    "flatten": _flatten,
    "batchnorm": _batchnorm,
    "residual": _residual,
    "rnn": _rnn,
}


def layer(ctx: Context, raw: object, where: str, in_shape: Shape, fed_by: str, last: bool) -> LayerSpec:
    """One layer table, fed by an input of `in_shape` (the output of `fed_by`)."""
    r = ctx.r
    if not isinstance(raw, dict):
        raise r.fail(where, "a layer table (type, its sizes, activation)", raw)
    kind = raw.get("type", "dense")
    if kind not in KINDS:
        raise r.fail(f"{where}.type", "one of " + ", ".join(f'"{k}"' for k in KINDS), with_guess(kind, READERS))
    r.check_keys(raw, COMMON_KEYS + KIND_KEYS[kind], where)
    default = "out" if last else ctx.namer.next(kind)
    name = r.string(raw.get("name", default), f"{where}.name")
    spec = LayerSpec(kind, name, activation(r, raw, where, kind), in_shape, in_shape)
    spec.tensor_names = tensor_names(r, raw, where, kind)
    READERS[kind](ctx, raw, spec, where, fed_by)
    return spec


def layers(ctx: Context, raw: object, where: str, in_shape: Shape, fed_by: str, last: bool = True) -> list[LayerSpec]:
    """A list of layer tables, each fed by the one before; the file's last layer is named `out`."""
    r = ctx.r
    if not isinstance(raw, list) or not raw:
        raise r.fail(where, "a list of one or more layer tables", raw if raw is not None else MISSING)
    r.within(limits.LAYERS, len(raw), where)
    made: list[LayerSpec] = []
    for i, table in enumerate(raw):
        spec = layer(ctx, table, f"{where}[{i}]", in_shape, fed_by, last and i == len(raw) - 1)
        made.append(spec)
        in_shape, fed_by = spec.out_shape, f"the output of {where}[{i}] ({spec.name})"
    return made
