"""The compiled loop specialised to one network's shape, for online and small-batch training.

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
GENERATOR_VERSION = 3
# A loop for a shape not met before costs a compile of about 1–3 s, so it is built only for runs the
# general loop would take longer than this over (or where CHAINRULE_SPECIALISE=1 asks for it).
COMPILE_PAYS_AFTER_SECONDS = 3.0
# The general loop's time, roughly: this per example plus this per example and parameter
# (measured on this project's benchmark machine: 0.36 µs for 2-2-1, 1.1 µs for 2-16-16-1).
GENERAL_SECONDS_PER_EXAMPLE = 0.3e-6
GENERAL_SECONDS_PER_PARAMETER = 2.5e-9
# A batch of several examples goes example by example here while it is small (at most this many
# multiply-adds, examples × parameters) or the network narrow (no layer wider than NARROW): past
# both, the general loop's BLAS products over the whole batch win. Measured by
# benchmarks/scaling.py (benchmarks/results/scaling.json, tests/test_path_choice.py): on
# 2-4-4-1 this loop wins at every batch up to 256 (33 µs against 46 µs through matrices with tanh
# at batch 256); on 2-16-16-1 at batch 8 (5.0 µs against 6.7 µs) and not at 32 with relu.
SPECIALISE_MAX_BATCH_WORK = 3_000
NARROW = 8
# Past this many parameters writing the loops out gains little: the products take the time.
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


def variant(packed: Any, batch: int, examples: float) -> tuple[bool, str]:
    """(whether to run the loop written out for this shape, why not when not). ``examples``: the
    examples the run is to train on (updates × batch), as far as known in advance."""
    size = packed.params.shape[0]
    narrow = max(int(packed.fan_in.max()), int(packed.units.max())) <= NARROW
    if batch > 1 and batch * size > SPECIALISE_MAX_BATCH_WORK and not narrow:
        return False, "batches this large go through matrix products"
    if size > SPECIALISE_MAX_PARAMETERS:
        return False, f"more than {SPECIALISE_MAX_PARAMETERS:,} parameters: the general loop is as fast"
    forced = os.environ.get(ENV_FORCE, "")
    if forced in ("0", "1"):
        return forced == "1", "" if forced == "1" else f"{ENV_FORCE}=0"
    shape = shape_of(packed)
    if _key(shape) in _loaded or _path(shape).exists():
        return True, ""
    general = examples * (GENERAL_SECONDS_PER_EXAMPLE + GENERAL_SECONDS_PER_PARAMETER * size)
    if general >= COMPILE_PAYS_AFTER_SECONDS:
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
    return cache_dir() / "kernels" / f"loop_{_key(shape)}.py"


def _write(path: Path, text: str) -> None:
    """Atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


# -- the generated source ------------------------------------------------------------------


def source(shape: tuple[Any, ...]) -> str:
    """The module for one shape: `epoch` (one epoch, example by example: each example's update at
    once when batches have one example, else the batch's gradients summed, then one update),
    `train_epochs` and `train_and_evaluate` (the general kernel's signatures, so callers take either)."""
    layers, _loss, masked = shape
    lines = [
        f'"""chainrule: the loop written out for one shape (generator {GENERATOR_VERSION}). Generated; do not edit."""',
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
        "def epoch(P, M, G, X, Y, order, batch, mean, lr, Z, A, D, classify, cut):",
        '    """One epoch of SGD in `order`; returns (Σ example losses, Σ classified right), each',
        '    example met before its batch\'s update."""',
    ]
    body = _views(layers, masked)
    body += ["total = 0.0", "right = 0.0", "n = order.shape[0]", "start = 0", "while start < n:"]
    loop = ["stop = min(start + batch, n)", "scale = 1.0 / (stop - start) if mean else 1.0"]
    loop += ["if stop - start == 1:", "    i = order[start]", "    x = X[i]"]
    loop += ["    " + s for s in _example(shape)]
    for layer in range(len(layers) - 1, -1, -1):
        loop += ["    " + s for s in _backward_update(layers, layer, masked)]
    loop += ["    start = stop", "    continue"]
    loop += ["G[:] = 0.0", "for t in range(start, stop):", "    i = order[t]", "    x = X[i]"]
    loop += ["    " + s for s in _example(shape)]
    for layer in range(len(layers) - 1, -1, -1):
        loop += ["    " + s for s in _backward_accumulate(layers, layer)]
    loop += ["for p in range(P.shape[0]):", "    P[p] -= lr * G[p] * M[p]", "start = stop"]
    body += ["    " + s for s in loop]
    body += ["return total, right"]
    lines += ["    " + s for s in body]
    lines += _drivers()
    return "\n".join(lines) + "\n"


def _example(shape: tuple[Any, ...]) -> list[str]:
    """One example's forward pass, its output δ (times `scale`), loss and whether it is right."""
    layers, loss, _masked = shape
    n_last, code_last, alpha_last = layers[-1][0], layers[-1][5], layers[-1][6]
    fused = loss == CROSS_ENTROPY and code_last == SOFTMAX  # softmax, δ and loss from one set of exponentials
    out: list[str] = []
    for layer in range(len(layers)):
        out += _forward(layers, layer, skip_softmax=fused and layer == len(layers) - 1)
    o = _activation_offsets(layers)[len(layers)]
    if fused:
        out += [f"total += softmax_cross_entropy_delta(Z, A, D, {o}, {n_last}, Y[i], scale)"]
    else:
        out += [f"total += output_delta({loss}, {code_last}, Z, A, D, {o}, {n_last}, Y[i], scale, {alpha_last!r})"]
    return [*out, f"right += correct(classify, cut, A, {o}, {n_last}, Y[i])"]


def _activation_offsets(layers: tuple[Any, ...]) -> list[int]:
    """Where each layer's values start in the Z/A/D buffers (the general kernel's a_off)."""
    offsets = [0]
    position = layers[0][1]
    for n, *_ in layers:
        offsets.append(position)
        position += n
    return offsets


def _views(layers: tuple[Any, ...], masked: bool) -> list[str]:
    """Each layer's weights (their gradients, their mask) as an n × fan-in matrix of literal shape."""
    out = []
    for i, (n, fi, wo, *_rest) in enumerate(layers):
        out.append(f"W{i} = P[{wo}:{wo + n * fi}].reshape(({n}, {fi}))")
        out.append(f"GW{i} = G[{wo}:{wo + n * fi}].reshape(({n}, {fi}))")
        if masked:
            out.append(f"MW{i} = M[{wo}:{wo + n * fi}].reshape(({n}, {fi}))")
    return out


def _forward(layers: tuple[Any, ...], i: int, skip_softmax: bool) -> list[str]:
    """Layer i's z = W·a (+ b) and a = f(z) (a softmax output's a left to the fused loss)."""
    n, fi, _wo, bo, mode, code, alpha = layers[i]
    a_off = _activation_offsets(layers)
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


def _delta_below(layers: tuple[Any, ...], i: int) -> list[str]:
    """δ of layer i − 1: f'(z) ⊙ (Wᵀ δ), through layer i's weights as they are."""
    n, fi = layers[i][0], layers[i][1]
    a_off = _activation_offsets(layers)
    d, below, code, alpha = a_off[i + 1], a_off[i], layers[i - 1][5], layers[i - 1][6]
    return [
        f"for k in range({fi}):",
        f"    D[{below} + k] = 0.0",
        f"for j in range({n}):",
        f"    dj = D[{d} + j]",
        f"    for k in range({fi}):",
        f"        D[{below} + k] += dj * W{i}[j, k]",
        f"for k in range({fi}):",
        f"    D[{below} + k] = act_derivative({code}, Z[{below} + k], A[{below} + k], {alpha!r}) * D[{below} + k]",
    ]


def _backward_update(layers: tuple[Any, ...], i: int, masked: bool) -> list[str]:
    """The general kernel's `_backward_update` for layer i (a batch of one): δ of the layer below
    through the weights before they move, then θ ← θ − η·δ·a."""
    n, fi, _wo, bo, mode, _code, _alpha = layers[i]
    a_off = _activation_offsets(layers)
    d = a_off[i + 1]
    src = "x[k]" if i == 0 else f"A[{a_off[i]} + k]"
    out = _delta_below(layers, i) if i > 0 else []
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


def _backward_accumulate(layers: tuple[Any, ...], i: int) -> list[str]:
    """The general kernel's `_backward` for layer i: g += δ·a (and δ for the bias), then δ below."""
    n, fi, _wo, bo, mode, _code, _alpha = layers[i]
    a_off = _activation_offsets(layers)
    d = a_off[i + 1]
    src = "x[k]" if i == 0 else f"A[{a_off[i]} + k]"
    out = [
        f"for j in range({n}):",
        f"    dj = D[{d} + j]",
        f"    for k in range({fi}):",
        f"        GW{i}[j, k] += dj * {src}",
    ]
    if mode == BIAS_SHARED:
        out += [f"    G[{bo}] += dj"]
    elif mode == BIAS_NEURON:
        out += [f"    G[{bo} + j] += dj"]
    return out + (_delta_below(layers, i) if i > 0 else [])


def _drivers() -> list[str]:
    """Whole runs of epochs, with the general kernel's signatures."""
    return [
        "",
        "",
        "@njit(cache=True, fastmath=FAST)",
        "def train_epochs(P, M, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, order, batch,",
        "                 mean, lr, cap, matrices, losses):",
        "    Z, A, D, G, Zb, Ab, Db = _buffers(P, units, a_off, cap)",
        "    for e in range(order.shape[0]):",
        "        total, right = epoch(P, M, G, X, Y, order[e], batch, mean, lr, Z, A, D, 0, 0.0)",
        "        losses[e] = total / order.shape[1]",
        "",
        "",
        "@njit(cache=True, fastmath=FAST)",
        "def train_and_evaluate(P, M, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, orders,",
        "                       batch, mean, lrs, Xv, Yv, classify, cut, until_loss, cap, matrices, evaluate, out):",
        "    buffers = _buffers(P, units, a_off, cap)",
        "    Z, A, D, G = buffers[0], buffers[1], buffers[2], buffers[3]",
        "    n = max(orders.shape[1], 1)",
        "    for e in range(orders.shape[0]):",
        "        total, right = epoch(P, M, G, X, Y, orders[e], batch, mean, lrs[e], Z, A, D, classify, cut)",
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
