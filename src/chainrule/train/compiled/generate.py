"""The source of the loop written out for one network shape (`special` compiles and caches it).

The shape is numbers only: per layer (units, fan-in, weight offset, bias offset, bias mode,
activation code), the loss code, and whether any parameter is frozen. Every one of them enters
the source through `codegen.literal`, every name is this module's own; values that may change
between runs of a shape (α, the learning rate, the data) are run-time arguments, so that the
file for a shape is the same whatever the network's numbers, and no text from a network file
ever reaches it. The formulas are the general loop's (`scalar`), called with literal codes.
"""

from __future__ import annotations

from typing import Any

from chainrule.train.codegen import comment, identifier, literal
from chainrule.train.compiled.codes import BIAS_NEURON, BIAS_SHARED, CROSS_ENTROPY, SOFTMAX

# Bump when the generated source's shape changes (the source is part of each file's key as well).
GENERATOR_VERSION = 4

Shape = tuple[Any, ...]


def source(shape: Shape) -> str:
    """The module for one shape: `epoch` (a stretch of an epoch, example by example: each
    example's update at once when batches have one example, else the batch's gradients summed,
    then one update) and the general kernel's entry points with its signatures (`train_epochs`,
    `train_and_evaluate`, `train_stretch`, `evaluate`), each returning LOOP_SPECIALISED."""
    layers, _loss, masked = shape
    lines = [
        f'"""chainrule: the loop written out for one shape (generator {literal(GENERATOR_VERSION)}). Generated."""',
        "# mypy: ignore-errors",
        comment(f"shape: {_numbers(shape)}"),
        "from numba import njit",
        "from chainrule.train.compiled.codes import LOOP_SPECIALISED",
        "from chainrule.train.compiled.kernel import _buffers, _evaluate_any, evaluate",
        "from chainrule.train.compiled.scalar import (",
        "    FAST, act_derivative, act_value, correct, output_delta, softmax, softmax_cross_entropy_delta",
        ")",
        "",
        "",
        "@njit(cache=True, fastmath=FAST)",
        "def epoch(P, M, G, alpha, X, Y, order, batch, mean, lr, Z, A, D, classify, cut, total, right):",
        '    """SGD over `order`; returns the running sums (Σ example losses, Σ classified right)',
        '    added on to `total` and `right`, each example met before its batch\'s update."""',
    ]
    body = _views(layers, masked)
    body += ["n = order.shape[0]", "start = 0", "while start < n:"]
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
    lines += _DRIVERS
    return "\n".join(lines) + "\n"


def _numbers(shape: Shape) -> str:
    """The shape spelled with `literal` only (for the file's header comment)."""
    layers, loss, masked = shape
    rows = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in layers)
    return f"layers ({rows}), loss {literal(loss)}, masked {literal(masked)}"


def _n(value: int) -> str:
    """An integer of the shape, as source."""
    return literal(int(value))


def _example(shape: Shape) -> list[str]:
    """One example's forward pass, its output δ (times `scale`), loss and whether it is right."""
    layers, loss, _masked = shape
    last = len(layers) - 1
    n_last, code_last = _n(layers[-1][0]), layers[-1][5]
    fused = loss == CROSS_ENTROPY and code_last == SOFTMAX  # softmax, δ and loss from one set of exponentials
    out: list[str] = []
    for layer in range(len(layers)):
        out += _forward(layers, layer, skip_softmax=fused and layer == last)
    o = _n(_activation_offsets(layers)[len(layers)])
    if fused:
        out += [f"total += softmax_cross_entropy_delta(Z, A, D, {o}, {n_last}, Y[i], scale)"]
    else:
        call = f"output_delta({_n(loss)}, {_n(code_last)}, Z, A, D, {o}, {n_last}, Y[i], scale, alpha[{_n(last)}])"
        out += [f"total += {call}"]
    return [*out, f"right += correct(classify, cut, A, {o}, {n_last}, Y[i])"]


def _activation_offsets(layers: Shape) -> list[int]:
    """Where each layer's values start in the Z/A/D buffers (the general kernel's a_off)."""
    offsets = [0]
    position = layers[0][1]
    for n, *_ in layers:
        offsets.append(position)
        position += n
    return offsets


def _weights(i: int) -> tuple[str, str, str]:
    """The names of layer i's weight, gradient and mask views."""
    return identifier(f"W{i}"), identifier(f"GW{i}"), identifier(f"MW{i}")


def _views(layers: Shape, masked: bool) -> list[str]:
    """Each layer's weights (their gradients, their mask) as an n × fan-in matrix of literal shape."""
    out = []
    for i, (n, fi, wo, *_rest) in enumerate(layers):
        w, gw, mw = _weights(i)
        span, dims = f"{_n(wo)}:{_n(wo + n * fi)}", f"({_n(n)}, {_n(fi)})"
        out.append(f"{w} = P[{span}].reshape({dims})")
        out.append(f"{gw} = G[{span}].reshape({dims})")
        if masked:
            out.append(f"{mw} = M[{span}].reshape({dims})")
    return out


def _source_of(layers: Shape, i: int) -> str:
    """Layer i's input, element k: the example's or the layer below's activations."""
    return "x[k]" if i == 0 else f"A[{_n(_activation_offsets(layers)[i])} + k]"


def _forward(layers: Shape, i: int, skip_softmax: bool) -> list[str]:
    """Layer i's z = W·a (+ b) and a = f(z) (a softmax output's a left to the fused loss)."""
    n, fi, _wo, bo, _mode, code = (_n(v) for v in layers[i][:6])
    z = _n(_activation_offsets(layers)[i + 1])
    bias = {BIAS_SHARED: f"s += P[{bo}]", BIAS_NEURON: f"s += P[{bo} + j]"}.get(layers[i][4])
    out = [
        f"for j in range({n}):",
        "    s = 0.0",
        f"    for k in range({fi}):",
        f"        s += {_source_of(layers, i)} * {_weights(i)[0]}[j, k]",
    ]
    out += [f"    {bias}"] if bias else []
    out += [f"    Z[{z} + j] = s"]
    if layers[i][5] == SOFTMAX:
        return out if skip_softmax else [*out, f"softmax(Z, A, {z}, {n})"]
    return [*out, f"for j in range({n}):", f"    A[{z} + j] = act_value({code}, Z[{z} + j], alpha[{_n(i)}])"]


def _delta_below(layers: Shape, i: int) -> list[str]:
    """δ of layer i − 1: f'(z) ⊙ (Wᵀ δ), through layer i's weights as they are."""
    n, fi = _n(layers[i][0]), _n(layers[i][1])
    a_off = _activation_offsets(layers)
    d, below, code = _n(a_off[i + 1]), _n(a_off[i]), _n(layers[i - 1][5])
    derivative = f"act_derivative({code}, Z[{below} + k], A[{below} + k], alpha[{_n(i - 1)}])"
    return [
        f"for k in range({fi}):",
        f"    D[{below} + k] = 0.0",
        f"for j in range({n}):",
        f"    dj = D[{d} + j]",
        f"    for k in range({fi}):",
        f"        D[{below} + k] += dj * {_weights(i)[0]}[j, k]",
        f"for k in range({fi}):",
        f"    D[{below} + k] = {derivative} * D[{below} + k]",
    ]


def _backward_update(layers: Shape, i: int, masked: bool) -> list[str]:
    """The general kernel's `_backward_update` for layer i (a batch of one): δ of the layer below
    through the weights before they move, then θ ← θ − η·δ·a."""
    n, fi, _wo, bo = (_n(v) for v in layers[i][:4])
    mode = layers[i][4]
    d = _n(_activation_offsets(layers)[i + 1])
    src, (w, _gw, mw) = _source_of(layers, i), _weights(i)
    out = _delta_below(layers, i) if i > 0 else []
    if masked:
        out += [
            f"for j in range({n}):",
            f"    dj = D[{d} + j]",
            f"    for k in range({fi}):",
            f"        {w}[j, k] -= lr * (dj * {src}) * {mw}[j, k]",
        ]
    else:
        out += [
            f"for j in range({n}):",
            f"    step = lr * D[{d} + j]",
            f"    for k in range({fi}):",
            f"        {w}[j, k] -= step * {src}",
        ]
    if mode == BIAS_SHARED:
        out += ["g = 0.0", f"for j in range({n}):", f"    g += D[{d} + j]", f"P[{bo}] -= lr * g * M[{bo}]"]
    elif mode == BIAS_NEURON:
        out += [f"for j in range({n}):", f"    P[{bo} + j] -= lr * D[{d} + j] * M[{bo} + j]"]
    return out


def _backward_accumulate(layers: Shape, i: int) -> list[str]:
    """The general kernel's `_backward` for layer i: g += δ·a (and δ for the bias), then δ below."""
    n, fi, _wo, bo = (_n(v) for v in layers[i][:4])
    mode = layers[i][4]
    d = _n(_activation_offsets(layers)[i + 1])
    out = [
        f"for j in range({n}):",
        f"    dj = D[{d} + j]",
        f"    for k in range({fi}):",
        f"        {_weights(i)[1]}[j, k] += dj * {_source_of(layers, i)}",
    ]
    if mode == BIAS_SHARED:
        out += [f"    G[{bo}] += dj"]
    elif mode == BIAS_NEURON:
        out += [f"    G[{bo} + j] += dj"]
    return out + (_delta_below(layers, i) if i > 0 else [])


# Whole runs of epochs, and stretches of one, with the general kernel's signatures. Fixed text:
# nothing of the shape or of any file enters it.
_DRIVERS = """

@njit(cache=True, fastmath=FAST)
def train_epochs(P, M, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, order, batch,
                 mean, lr, cap, matrices, losses):
    Z, A, D, G, Zb, Ab, Db = _buffers(P, units, a_off, cap)
    for e in range(order.shape[0]):
        total, right = epoch(P, M, G, alpha, X, Y, order[e], batch, mean, lr, Z, A, D, 0, 0.0, 0.0, 0.0)
        losses[e] = total / order.shape[1]
    return LOOP_SPECIALISED


@njit(cache=True, fastmath=FAST)
def train_stretch(P, M, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, order, start, stop,
                  batch, mean, lr, cap, matrices, classify, cut, sums):
    Z, A, D, G, Zb, Ab, Db = _buffers(P, units, a_off, cap)
    sums[0], sums[1] = epoch(P, M, G, alpha, X, Y, order[start:stop], batch, mean, lr, Z, A, D, classify, cut,
                             sums[0], sums[1])
    return LOOP_SPECIALISED


@njit(cache=True, fastmath=FAST)
def train_and_evaluate(P, M, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off, loss, X, Y, orders,
                       batch, mean, lrs, Xv, Yv, classify, cut, until_loss, cap, matrices, evaluate, out):
    buffers = _buffers(P, units, a_off, cap)
    Z, A, D, G = buffers[0], buffers[1], buffers[2], buffers[3]
    n = max(orders.shape[1], 1)
    for e in range(orders.shape[0]):
        total, right = epoch(P, M, G, alpha, X, Y, orders[e], batch, mean, lrs[e], Z, A, D, classify, cut, 0.0, 0.0)
        if evaluate[e]:
            out[e, 0], out[e, 1] = _evaluate_any(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off,
                                                 loss, X, Y, classify, cut, buffers)
            out[e, 4] = 1.0
        else:
            out[e, 0], out[e, 1] = total / n, right / n
            out[e, 4] = 0.0
        if Xv.shape[0] > 0:
            out[e, 2], out[e, 3] = _evaluate_any(P, units, fan_in, w_off, b_off, bias_mode, act, alpha, a_off,
                                                 loss, Xv, Yv, classify, cut, buffers)
        if out[e, 0] <= until_loss:
            return e + 1, LOOP_SPECIALISED
    return orders.shape[0], LOOP_SPECIALISED
""".splitlines()
