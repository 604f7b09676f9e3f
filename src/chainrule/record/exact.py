"""Sums as the paper works them: exact in the decimals the record shows, rounded once.

A float read from a file is the decimal its author wrote: its shortest repr (``Decimal(repr(x))``)
gives that decimal back. Where every number a value is made from is such a short decimal (at most
15 significant digits), the explained step computes it exactly from those decimals and rounds the
result once, so a sum that is 0 on paper (0.1 + 0.2 − 0.3) is exactly 0 in the record, not
5.551e−17, and 0.3 − 0.1 is 0.2. Identity, ReLU, leaky ReLU, PReLU and the step carry that to the
next layer (the registry's ``exact`` form); everywhere else (a sigmoid's 17-digit output) the value
is float64's, computed as the engine computes it, bit for bit. At a kink exactly at 0 the
registry's convention applies (ReLU′(0) = 0).

float64 training computes the same sums in binary and may land a hair beside 0: on the other side
of a kink from the paper. ``other_side`` finds those z, so that the record can say so and the
checker can accept either answer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from decimal import Context, Decimal, localcontext

import numpy as np
from numpy.typing import ArrayLike

from chainrule.engine.functions import Activation, softmax_backward
from chainrule.engine.network import Backward, Forward, Network

# Products of two 17-digit decimals have 34 digits; 80 leave room for sums whose terms differ by
# ~45 orders of magnitude before a sum rounds at all. No traps: inf·0 gives NaN, as float64 does.
_CONTEXT = Context(prec=80, traps=[])

# Past this many multiply-adds per step the explained step keeps float64's sums (a network too
# large to work by hand; exact decimals cost ~1 µs each).
MAX_EXACT_TERMS = 200_000


def in_decimals() -> AbstractContextManager[Context]:
    """The context every exact sum here is worked in (80 digits, no traps), for arithmetic on
    Decimals elsewhere (a shaped op's map on arrays of them)."""
    return localcontext(_CONTEXT)


def decimal(x: float) -> Decimal:
    """The decimal a float shows: its shortest repr (the file's decimal for a value read from one)."""
    return _decimal(float(x))


@functools.lru_cache(maxsize=1 << 16)
def _decimal(x: float) -> Decimal:
    # The checker evaluates the same values' sums again and again: the repr is most of a sum's cost.
    # (0.0 and −0.0 share an entry; every sum below ends in + 0.0, so no −0 reaches the record.)
    return Decimal(repr(x))


@functools.lru_cache(maxsize=1 << 16)
def short(x: float) -> bool:
    """Whether a float is a decimal a person writes: at most 15 significant digits (0.1, −2.75, 1e-05);
    a sigmoid's output or 0.1 + 0.2 in float64 (0.30000000000000004) is not."""
    d = _decimal(x)
    return d.is_finite() and len(d.as_tuple().digits) <= 15


def exact_sum(pairs: Iterable[tuple[float, float]], terms: Iterable[float] = ()) -> float:
    """Σ p·q + Σ t: exact in the decimals of p, q and t and rounded once where each is short, else in
    float64, left to right (as the step graph always summed)."""
    pairs, terms = list(pairs), list(terms)
    if not all(short(p) and short(q) for p, q in pairs) or not all(short(t) for t in terms):
        return sum(p * q for p, q in pairs) + sum(terms)
    add, mul = _CONTEXT.add, _CONTEXT.multiply  # the context's own methods: no context switch per sum
    total = Decimal(0)
    for p, q in pairs:
        total = add(total, mul(decimal(p), decimal(q)))
    for t in terms:
        total = add(total, decimal(t))
    return float(total) + 0.0


def exact_paths(paths: Sequence[Sequence[float]]) -> tuple[list[tuple[float, ...]], float]:
    """Each path's running products and the sum of the paths, worked in decimals and each rounded
    once: a short factor as the decimal it shows, any other as its float's exact binary value (80
    digits carry every product and sum of a path to well past float64's rounding). Two paths of
    0.09 and −0.09 times the same ∂L/∂ŷ add up to 0, not 2.8×10⁻¹⁷."""
    add, mul = _CONTEXT.add, _CONTEXT.multiply
    runs: list[tuple[float, ...]] = []
    total = Decimal(0)
    for path in paths:
        product: Decimal | None = None
        partials = []
        for f in path:
            d = decimal(f) if short(f) else Decimal(float(f))
            product = d if product is None else mul(product, d)
            partials.append(float(product) + 0.0)
        runs.append(tuple(partials))
        total = add(total, product if product is not None else Decimal(1))
    return runs, float(total) + 0.0


def exact_activation(act: Activation, z: float, alpha: float) -> float:
    """a = f(z) exactly in decimals (an activation with an ``exact`` form, z and α short), rounded once;
    else float64's f(z)."""
    if act.exact is None or not (short(z) and short(alpha)):
        return float(act.value(np.array([z]), alpha)[0])
    with localcontext(_CONTEXT):
        return float(act.exact(decimal(z), decimal(alpha))) + 0.0


def applies(net: Network, examples: int) -> bool:
    """Whether the step is small enough, and in float64, for exact sums."""
    terms = sum(layer.weight.size for layer in net.layers) * examples
    return terms <= MAX_EXACT_TERMS and all(layer.weight.dtype == np.float64 for layer in net.layers)


def forward(net: Network, x: np.ndarray) -> Forward:
    """The forward pass of the examples in ``x``, each z exact where its terms are short decimals
    (see the module's doc), else float64's, as ``Network.forward`` computes it."""
    a: np.ndarray = np.asarray(x, dtype=np.float64)
    zs: list[np.ndarray] = []
    as_: list[np.ndarray] = [a]
    for layer in net.layers:
        z = a @ layer.weight.T + layer.bias_vector()  # the engine's own expression, for the float values
        bias = layer.bias_vector().tolist()
        weights = layer.weight.tolist()
        for k, row in enumerate(a.tolist()):
            for j, w in enumerate(weights):
                if _all_short(row, w, (bias[j],)):
                    z[k, j] = exact_sum(zip(w, row, strict=True), (bias[j],))
        act, alpha = layer.activation, layer.alpha_value()
        a = act.value(z, alpha)
        if act.exact is not None:
            a = np.array([[exact_activation(act, v, alpha) for v in r] for r in z.tolist()]).reshape(z.shape)
        zs.append(z)
        as_.append(a)
    return Forward(x=as_[0], z=zs, a=as_)


def _all_short(*groups: Iterable[float]) -> bool:
    return all(short(v) for g in groups for v in g)


def backward(net: Network, fwd: Forward, y: np.ndarray) -> Backward:
    """``Network.backward``, each value exact where what it is made from is short decimals (∂L/∂ŷ of
    the squared errors: 0.3 − 0.1 is 0.2, not 0.19999999999999998; f′(z)·∂L/∂a; Σ w·δ; the sums over
    the batch), else float64's by the engine's own expression. The loss's derivative and the fused
    shortcut are the registry's formulas, on decimals where the formula is plain arithmetic.

    A mean's 1/N (1/3 is no short decimal) is taken last: the pass is worked as for the sum, where
    every value stays a short decimal, and each value is then divided by N and rounded once, so a
    δ that is 0 on paper (−0.5·0.2·c + 0.1·1.0·c) is 0, not the 10⁻¹⁸ that 1/3's rounding leaves."""
    n = fwd.x.shape[0]
    summed = _summed(net, fwd, y)
    if net.training.reduction != "mean" or n == 1:
        return summed
    d_weight, d_bias, d_alpha, d_a, d_z = (
        [_divided(a, n) for a in arrays]
        for arrays in (summed.d_weight, summed.d_bias, summed.d_alpha, summed.d_a, summed.d_z)
    )
    return Backward(d_weight, d_bias, d_alpha, d_a, d_z, summed.fused)


def _divided(a: np.ndarray, n: int) -> np.ndarray:
    """Each value over n: its decimal over n, rounded once, where it is short; else float64's x / n."""
    out = a / n
    flat, values = out.reshape(-1), a.reshape(-1).tolist()
    for i, v in enumerate(values):
        if short(v):
            flat[i] = float(_CONTEXT.divide(decimal(v), Decimal(n))) + 0.0
    return out


def _summed(net: Network, fwd: Forward, y: np.ndarray) -> Backward:
    """`backward` of the sum of the example losses (see `backward` for the mean's 1/N)."""
    loss, out = net.loss, net.output_layer
    fused = loss.fused_activation == out.activation.name and loss.fused_gradient is not None

    rows = np.asarray(_short(fwd.a[-1]).all(axis=1) & _short(y).all(axis=1))[
        :, None
    ]  # examples whose ŷ and y are short
    d_a = _choose(loss.gradient(fwd.a[-1], y), rows, functools.partial(_registry, loss.gradient), fwd.a[-1], y)
    back = Backward([], [], [], [], [], fused)
    for i in range(len(net.layers) - 1, -1, -1):
        layer = net.layers[i]
        z, a, alpha, prev, w = fwd.z[i], fwd.a[i + 1], layer.alpha_value(), fwd.a[i], layer.weight
        if i == len(net.layers) - 1 and fused:
            assert loss.fused_gradient is not None
            parts = (fwd.z[-1], fwd.a[-1], y)
            exact = functools.partial(_registry, loss.fused_gradient)
            d_z = _choose(loss.fused_gradient(*parts), rows, exact, *parts)
        elif not layer.activation.elementwise:
            d_z = softmax_backward(a, d_a)
        else:
            slope = layer.activation.derivative(z, a, alpha)
            d_z = _choose(slope * d_a, _short(slope) & _short(d_a), np.multiply, slope, d_a)
        sz, sp = _short(d_z), _short(prev)
        back.d_weight.insert(0, _choose(d_z.T @ prev, np.asarray(sz.all(0))[:, None] & sp.all(0), _t_matmul, d_z, prev))
        if layer.bias_mode == "neuron":
            back.d_bias.insert(0, _choose(d_z.sum(axis=0), sz.all(0), _column_sums, d_z))
        elif layer.bias_mode == "shared":
            back.d_bias.insert(0, _choose(np.array([d_z.sum()]), sz.all(), _total, d_z))
        else:
            back.d_bias.insert(0, np.zeros(0))
        d_alpha = np.zeros(0)
        if layer.alpha_name and layer.activation.alpha_derivative is not None:
            da = layer.activation.alpha_derivative(z, a, alpha)
            both = _short(da).all() & _short(d_a).all()
            d_alpha = _choose(np.array([np.sum(da * d_a)]), both, _total_product, da, d_a)
        back.d_alpha.insert(0, d_alpha)
        back.d_a.insert(0, d_a)
        back.d_z.insert(0, d_z)
        d_a = _choose(d_z @ w, np.asarray(sz.all(1))[:, None] & _short(w).all(0), np.matmul, d_z, w)
    return back


def _t_matmul(d_z: np.ndarray, prev: np.ndarray) -> np.ndarray:
    return d_z.T @ prev


def _column_sums(x: np.ndarray) -> np.ndarray:
    return x.sum(axis=0)


def _total(x: np.ndarray) -> np.ndarray:
    return np.array([x.sum()])


def _total_product(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.array([(x * y).sum()])


def _short(x: np.ndarray) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    return np.array([short(v) for v in arr.ravel().tolist()], dtype=bool).reshape(arr.shape)


def _choose(
    binary: np.ndarray, where: ArrayLike, op: Callable[..., np.ndarray | None], *parts: np.ndarray
) -> np.ndarray:
    """float64's values, with op on the parts' exact decimals (rounded once) where ``where`` says all
    that value's parts are short."""
    mask = np.broadcast_to(np.asarray(where, dtype=bool), np.shape(binary))
    if not mask.any():
        return binary
    with localcontext(_CONTEXT):
        decimals = op(*(_decimals(p) for p in parts))
    if decimals is None:
        return binary
    rounded = _rounded(np.broadcast_to(np.asarray(decimals, dtype=object), np.shape(binary)), np.shape(binary))
    return np.where(mask, rounded, binary)


def _decimals(x: np.ndarray) -> np.ndarray:
    """An array of each value's decimal (dtype object), for exact NumPy arithmetic."""
    arr = np.asarray(x, dtype=np.float64)
    return np.array([decimal(v) for v in arr.ravel().tolist()], dtype=object).reshape(arr.shape)


def _rounded(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Exact decimals rounded once, to float64."""
    cells = [float(v) + 0.0 for v in np.asarray(x, dtype=object).ravel().tolist()]  # + 0.0: no −0
    return np.array(cells, dtype=np.float64).reshape(shape)


def _registry(f: Callable[..., np.ndarray], *exact: np.ndarray) -> np.ndarray | None:
    """The registry's formula on exact decimals where it is plain arithmetic (ŷ − y); None where it is
    not (a float constant, a log or a floor such as max(a, 1e-300) raises on decimals)."""
    try:
        result = np.asarray(f(*exact), dtype=object)
    except (TypeError, AttributeError, ArithmeticError):
        return None
    cells = [v if isinstance(v, Decimal) else decimal(v) for v in result.ravel().tolist()]
    return np.array(cells, dtype=object).reshape(result.shape)


def updated(net: Network, back: Backward) -> Network:
    """``net.updated(back)``; with plain gradient descent each moved θ_new = θ − η·∂L/∂θ exact where θ,
    η and ∂L/∂θ are short decimals, rounded once (0.3 − 0.1·3 is 0, not −5.551e−17). The state of
    other optimizers is float64's, as training carries it."""
    new = net.updated(back)
    eta = net.training.learning_rate
    if net.training.optimizer.name != "sgd" or not short(eta):
        return new
    for old, layer, dw, db, dal in zip(net.layers, new.layers, back.d_weight, back.d_bias, back.d_alpha, strict=True):
        layer.weight = _moved(old.weight, layer.weight, dw, eta)
        layer.bias = _moved(old.bias, layer.bias, db, eta)
        layer.alpha = _moved(old.alpha, layer.alpha, dal, eta)
    return new


def _moved(old: np.ndarray, new: np.ndarray, gradient: np.ndarray, eta: float) -> np.ndarray:
    """new, each entry that moved (a frozen one did not) recomputed as old − η·g in decimals where old
    and g are short."""
    if not (old.shape == new.shape == np.shape(gradient)) or new.dtype != np.float64:
        return new
    out = new.copy()
    rows = zip(old.ravel().tolist(), new.ravel().tolist(), np.ravel(gradient).tolist(), strict=True)
    for i, (o, n, g) in enumerate(rows):
        if o != n and short(o) and short(g):
            out.flat[i] = float(_CONTEXT.subtract(decimal(o), _CONTEXT.multiply(decimal(eta), decimal(g)))) + 0.0
    return out


def other_side(net: Network, exact: Forward, binary: Forward) -> list[tuple[int, int, int, float]]:
    """(layer, example, neuron, float64's z) wherever float64's z lies across a kink from the exact z:
    where the activation's value or derivative jumps between the two (ReLU′ 1 against 0, a step's 1
    against 0), which a smooth activation never does over a rounding error."""
    found = []
    for li, layer in enumerate(net.layers):
        act = layer.activation
        if not act.elementwise:
            continue
        ze, zb = exact.z[li], binary.z[li]
        differ = np.nonzero(ze != zb)
        if not differ[0].size:
            continue
        alpha = layer.alpha_value()
        ve, vb = ze[differ], zb[differ]
        ae, ab = act.value(ve, alpha), act.value(vb, alpha)
        de, db = act.derivative(ve, ae, alpha), act.derivative(vb, ab, alpha)
        jump = (_jumps(ae, ab)) | (_jumps(de, db))
        for k, j, z in zip(differ[0][jump], differ[1][jump], vb[jump], strict=True):
            found.append((li, int(k), int(j), float(z)))
    return found


def _jumps(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Where two values differ by far more than a rounding error of either."""
    with np.errstate(invalid="ignore"):
        return np.abs(u - v) > 1e-9 * (1.0 + np.abs(u) + np.abs(v))
