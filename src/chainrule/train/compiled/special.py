"""The compiled loop specialised to one network's shape, for online training (one example an update).

The general loop (`kernel`) reads each layer's size, offsets, activation and bias from arrays, so
every number it computes passes through a dispatch on codes and loops whose lengths it learns at
run time: on a 2-2-1 network that bookkeeping is most of its time. Here the loop is written out
for one shape — sizes, offsets, activation codes and bias modes as literals — so LLVM unrolls the
tiny loops, folds the dispatch away and keeps the numbers in registers: several times faster.

The source is generated per shape (`source`), written once to a cache folder and imported from
there, so that numba caches its machine code beside it: the first run of a new shape compiles
for a second or two, later runs load it in milliseconds. The formulas are the general loop's own
(`scalar`: the activations, the output δ and loss, `correct`), called with literal codes, so the
two agree to rounding; the tests hold the result to the engine's at 1e-12 over random networks.
`variant` says whether a run uses it and why not.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from chainrule.train.compiled.codes import BIAS_NEURON, BIAS_SHARED, CROSS_ENTROPY, SOFTMAX

# Bump when the generated source's shape changes (it is part of each file's key as well).
GENERATOR_VERSION = 2
# A specialised loop costs a compile (about 1–3 s) on a shape's first run; below this many
# multiply-adds of training (updates × parameters) the general loop finishes first, so a shape
# not yet compiled is only compiled for longer runs. CHAINRULE_SPECIALISE=1/0 forces either way.
SPECIALISE_MIN_WORK = 200_000_000
# Past this many parameters the products dominate and writing the loops out gains little.
SPECIALISE_MAX_PARAMETERS = 100_000
ENV_FORCE = "CHAINRULE_SPECIALISE"
ENV_CACHE = "CHAINRULE_CACHE_DIR"

_loaded: dict[str, ModuleType] = {}


def cache_dir() -> Path:
    """$CHAINRULE_CACHE_DIR, else $XDG_CACHE_HOME/chainrule (~/.cache/chainrule)."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "chainrule"


def shape_of(packed: Any) -> tuple[Any, ...]:
    """What the generated loop depends on: per layer (units, fan-in, weight offset, bias offset,
    bias mode, activation, α), the loss, and whether any parameter is frozen."""
    layers = tuple(
        (
            int(packed.units[i]),
            int(packed.fan_in[i]),
            int(packed.w_off[i]),
            int(packed.b_off[i]),
            int(packed.bias_mode[i]),
            int(packed.act[i]),
            float(packed.alpha[i]),
        )
        for i in range(len(packed.units))
    )
    return layers, int(packed.loss), bool((packed.mask != 1.0).any())


def variant(packed: Any, batch: int, work: float) -> tuple[bool, str]:
    """(whether to run the specialised loop, why not when not). ``work``: the run's updates ×
    parameters, as far as it is known in advance."""
    if batch != 1:
        return False, "the specialised loop trains online (one example an update) only"
    if packed.params.shape[0] > SPECIALISE_MAX_PARAMETERS:
        return False, f"more than {SPECIALISE_MAX_PARAMETERS:,} parameters: the general loop is as fast"
    forced = os.environ.get(ENV_FORCE, "")
    if forced in ("0", "1"):
        return forced == "1", "" if forced == "1" else f"{ENV_FORCE}=0"
    shape = shape_of(packed)
    if _key(shape) in _loaded or _path(shape).exists():
        return True, ""
    if work >= SPECIALISE_MIN_WORK:
        return True, ""
    return False, "a short run: compiling a loop for this shape would take longer than it saves"


def module(packed: Any) -> ModuleType:
    """The specialised loops for this network's shape: generated, written and imported on first use."""
    shape = shape_of(packed)
    key = _key(shape)
    if key in _loaded:
        return _loaded[key]
    path = _path(shape)
    if not path.exists():
        try:
            _write(path, source(shape))
        except OSError:  # the cache folder cannot be written: this process compiles into a temporary one
            os.environ[ENV_CACHE] = tempfile.mkdtemp(prefix="chainrule-cache-")
            path = _path(shape)
            _write(path, source(shape))
    spec = importlib.util.spec_from_file_location(f"chainrule_special_{key}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    _loaded[key] = mod
    return mod


_keys: dict[tuple[Any, ...], str] = {}


def _key(shape: tuple[Any, ...]) -> str:
    """A hash of the generated source and of the kernel modules it calls (numba's cache does not
    notice when those change) and numba's version."""
    if shape not in _keys:
        _keys[shape] = _hash(shape)
    return _keys[shape]


def _hash(shape: tuple[Any, ...]) -> str:
    import numba

    here = Path(__file__).parent
    digest = hashlib.sha256(source(shape).encode())
    for name in ("scalar.py", "kernel.py", "matrices.py", "codes.py"):
        digest.update((here / name).read_bytes())
    digest.update(numba.__version__.encode())
    return digest.hexdigest()[:20]


def _path(shape: tuple[Any, ...]) -> Path:
    return cache_dir() / "kernels" / f"online_{_key(shape)}.py"


def _write(path: Path, text: str) -> None:
    """Atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


# -- the generated source ------------------------------------------------------------------


def source(shape: tuple[Any, ...]) -> str:
    """The module for one shape: `online_epoch` (one epoch, example by example), `train_epochs`
    and `train_and_evaluate` (the general kernel's signatures, so callers take either)."""
    layers, loss, masked = shape
    lines = [
        f'"""chainrule: the online loop written out for one shape (generator {GENERATOR_VERSION}). Generated; do not edit."""',
        "# mypy: ignore-errors",
        "# shape: " + repr(shape),
        "from numba import njit",
        "from chainrule.train.compiled.kernel import _buffers, _evaluate_any",
        "from chainrule.train.compiled.scalar import (",
        "    FAST, act_derivative, act_value, correct, output_delta, softmax, softmax_cross_entropy_delta",
        ")",
        "",
        "",
        "@njit(cache=True, fastmath=FAST)",
        "def online_epoch(P, M, X, Y, order, lr, Z, A, D, classify, cut):",
        '    """One epoch of online SGD in `order`; returns (Σ example losses, Σ classified right),',
        '    each example met before its own update."""',
    ]
    body = _views(layers, masked)
    body += ["total = 0.0", "right = 0.0", "for t in range(order.shape[0]):"]
    step = ["i = order[t]", "x = X[i]"]
    a_off = _activation_offsets(layers)
    n_last, code_last, alpha_last = layers[-1][0], layers[-1][5], layers[-1][6]
    fused = loss == CROSS_ENTROPY and code_last == SOFTMAX  # softmax, δ and loss from one set of exponentials
    for layer in range(len(layers)):
        step += _forward(layers, layer, a_off, skip_softmax=fused and layer == len(layers) - 1)
    o = a_off[len(layers)]
    if fused:
        step += [f"total += softmax_cross_entropy_delta(Z, A, D, {o}, {n_last}, Y[i], 1.0)"]
    else:
        step += [f"total += output_delta({loss}, {code_last}, Z, A, D, {o}, {n_last}, Y[i], 1.0, {alpha_last!r})"]
    step += [f"right += correct(classify, cut, A, {o}, {n_last}, Y[i])"]
    for layer in range(len(layers) - 1, -1, -1):
        step += _backward_update(layers, layer, a_off, masked)
    body += ["    " + s for s in step]
    body += ["return total, right"]
    lines += ["    " + s for s in body]
    lines += _drivers(o, n_last)
    return "\n".join(lines) + "\n"


def _activation_offsets(layers: tuple[Any, ...]) -> list[int]:
    """Where each layer's values start in the Z/A/D buffers (the general kernel's a_off)."""
    offsets = [0]
    position = layers[0][1]
    for n, *_ in layers:
        offsets.append(position)
        position += n
    return offsets


def _views(layers: tuple[Any, ...], masked: bool) -> list[str]:
    out = []
    for i, (n, fi, wo, *_rest) in enumerate(layers):
        out.append(f"W{i} = P[{wo}:{wo + n * fi}].reshape(({n}, {fi}))")
        if masked:
            out.append(f"MW{i} = M[{wo}:{wo + n * fi}].reshape(({n}, {fi}))")
    return out


def _forward(layers: tuple[Any, ...], i: int, a_off: list[int], skip_softmax: bool) -> list[str]:
    n, fi, _wo, bo, mode, code, alpha = layers[i]
    src = "x[k]" if i == 0 else f"A[{a_off[i]} + k]"
    z = a_off[i + 1]
    bias = {BIAS_SHARED: f"s += P[{bo}]", BIAS_NEURON: f"s += P[{bo} + j]"}.get(mode)
    out = [
        f"for j in range({n}):",
        "    s = 0.0",
        f"    for k in range({fi}):",
        f"        s += {src} * W{i}[j, k]",
    ]
    out += [f"    {bias}"] if bias else []
    out += [f"    Z[{z} + j] = s"]
    if code == SOFTMAX:
        return out if skip_softmax else [*out, f"softmax(Z, A, {z}, {n})"]
    return [*out, f"for j in range({n}):", f"    A[{z} + j] = act_value({code}, Z[{z} + j], {alpha!r})"]


def _backward_update(layers: tuple[Any, ...], i: int, a_off: list[int], masked: bool) -> list[str]:
    """The general kernel's `_backward_update` for layer i: δ of the layer below through the
    weights before they move, then θ ← θ − η·δ·a."""
    n, fi, _wo, bo, mode, _code, _alpha = layers[i]
    d = a_off[i + 1]
    src = "x[k]" if i == 0 else f"A[{a_off[i]} + k]"
    out: list[str] = []
    if i > 0:
        below, code, alpha = a_off[i], layers[i - 1][5], layers[i - 1][6]
        out += [
            f"for k in range({fi}):",
            f"    D[{below} + k] = 0.0",
            f"for j in range({n}):",
            f"    dj = D[{d} + j]",
            f"    for k in range({fi}):",
            f"        D[{below} + k] += dj * W{i}[j, k]",
            f"for k in range({fi}):",
            f"    D[{below} + k] = act_derivative({code}, Z[{below} + k], A[{below} + k], {alpha!r}) * D[{below} + k]",
        ]
    if masked:
        out += [
            f"for j in range({n}):",
            f"    dj = D[{d} + j]",
            f"    for k in range({fi}):",
            f"        W{i}[j, k] -= lr * (dj * {src}) * MW{i}[j, k]",
        ]
    else:
        out += [
            f"for j in range({n}):",
            f"    step = lr * D[{d} + j]",
            f"    for k in range({fi}):",
            f"        W{i}[j, k] -= step * {src}",
        ]
    if mode == BIAS_SHARED:
        out += [
            "g = 0.0",
            f"for j in range({n}):",
            f"    g += D[{d} + j]",
            f"P[{bo}] -= lr * g * M[{bo}]",
        ]
    elif mode == BIAS_NEURON:
        out += [f"for j in range({n}):", f"    P[{bo} + j] -= lr * D[{d} + j] * M[{bo} + j]"]
    return out


def _drivers(o: int, m: int) -> list[str]:
    """Whole runs of epochs, with the general kernel's signatures."""
    return [
        "",
        "",
        "@njit(cache=True, fastmath=FAST)",
        "def train_epochs(P, M, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, order, batch,",
        "                 mean, lr, cap, matrices, losses):",
        "    Z, A, D, G, Zb, Ab, Db = _buffers(P, units, a_off, cap)",
        "    for e in range(order.shape[0]):",
        "        total, right = online_epoch(P, M, X, Y, order[e], lr, Z, A, D, 0, 0.0)",
        "        losses[e] = total / order.shape[1]",
        "",
        "",
        "@njit(cache=True, fastmath=FAST)",
        "def train_and_evaluate(P, M, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, orders,",
        "                       batch, mean, lrs, Xv, Yv, classify, cut, until_loss, cap, matrices, evaluate, out):",
        "    buffers = _buffers(P, units, a_off, cap)",
        "    Z, A, D = buffers[0], buffers[1], buffers[2]",
        "    n = max(orders.shape[1], 1)",
        "    for e in range(orders.shape[0]):",
        "        total, right = online_epoch(P, M, X, Y, orders[e], lrs[e], Z, A, D, classify, cut)",
        "        if evaluate[e]:",
        "            out[e, 0], out[e, 1] = _evaluate_any(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off,",
        "                                                 loss, X, Y, classify, cut, buffers)",
        "            out[e, 4] = 1.0",
        "        else:",
        "            out[e, 0], out[e, 1] = total / n, right / n",
        "            out[e, 4] = 0.0",
        "        if Xv.shape[0] > 0:",
        "            out[e, 2], out[e, 3] = _evaluate_any(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off,",
        "                                                 loss, Xv, Yv, classify, cut, buffers)",
        "        if out[e, 0] <= until_loss:",
        "            return e + 1",
        "    return orders.shape[0]",
    ]
