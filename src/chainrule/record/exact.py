"""Sums as the paper works them: exact in the decimals the record shows, rounded once.

A float read from a file is the decimal its author wrote: its shortest repr (``Decimal(repr(x))``)
gives that decimal back. The explained step computes every neuron's weighted sum exactly from those
decimals and rounds the result once, so a sum that is 0 on paper (0.1 + 0.2 − 0.3) is exactly 0 in
the record, not 5.551e−17. Identity, ReLU, leaky ReLU, PReLU and the step carry that exactness to
the next layer (the registry's ``exact`` form); other activations give their float64 value, whose
decimal the next sum then reads. At a kink exactly at 0 the registry's convention applies
(ReLU′(0) = 0).

float64 training computes the same sums in binary and may land a hair beside 0: on the other side
of a kink from the paper. ``other_side`` finds those z, so that the record can say so and the
checker can accept either answer.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from decimal import Context, Decimal, localcontext

import numpy as np

from chainrule.engine.functions import Activation, softmax_backward
from chainrule.engine.network import Backward, Forward, Network

# Products of two 17-digit decimals have 34 digits; 80 leave room for sums whose terms differ by
# ~45 orders of magnitude before a sum rounds at all. No traps: inf·0 gives NaN, as float64 does.
_CONTEXT = Context(prec=80, traps=[])

# Past this many multiply-adds per step the explained step keeps float64's sums (a network too
# large to work by hand; exact decimals cost ~1 µs each).
MAX_EXACT_TERMS = 200_000


def decimal(x: float) -> Decimal:
    """The decimal a float shows: its shortest repr (the file's decimal for a value read from one)."""
    return Decimal(repr(float(x)))


def exact_sum(pairs: Iterable[tuple[float, float]], terms: Iterable[float] = ()) -> float:
    """Σ p·q + Σ t computed exactly in the decimals of p, q and t, then rounded once to float64."""
    with localcontext(_CONTEXT):
        total = sum((decimal(p) * decimal(q) for p, q in pairs), Decimal(0))
        total = sum((decimal(t) for t in terms), total)
    return float(total)


def exact_activation(act: Activation, z: float, alpha: float) -> float:
    """a = f(z) computed exactly in decimals (for an activation with an ``exact`` form), rounded once."""
    assert act.exact is not None
    with localcontext(_CONTEXT):
        return float(act.exact(decimal(z), decimal(alpha)))


def applies(net: Network, examples: int) -> bool:
    """Whether the step is small enough, and in float64, for exact sums."""
    terms = sum(layer.weight.size for layer in net.layers) * examples
    return terms <= MAX_EXACT_TERMS and all(layer.weight.dtype == np.float64 for layer in net.layers)


def forward(net: Network, x: np.ndarray) -> Forward:
    """The forward pass of the examples in ``x`` with every weighted sum exact (see the module's doc)."""
    rows = [[decimal(v) for v in row] for row in np.asarray(x, dtype=np.float64).tolist()]
    zs: list[np.ndarray] = []
    as_: list[np.ndarray] = [np.asarray(x, dtype=np.float64)]
    with localcontext(_CONTEXT):
        for layer in net.layers:
            weights = [[decimal(w) for w in row] for row in layer.weight.tolist()]
            bias = [decimal(b) for b in layer.bias_vector().tolist()]
            z_dec = [[sum(map(operator.mul, w, row), b) for w, b in zip(weights, bias, strict=True)] for row in rows]
            z = np.array([[float(v) for v in r] for r in z_dec], dtype=np.float64).reshape(len(rows), layer.units)
            act, alpha = layer.activation, layer.alpha_value()
            if act.exact is not None:
                f, p = act.exact, decimal(alpha)
                a: np.ndarray = np.array([[float(f(v, p)) for v in r] for r in z_dec], dtype=np.float64).reshape(
                    z.shape
                )
            else:
                a = act.value(z, alpha)
            rows = [[decimal(v) for v in r] for r in a.tolist()]
            zs.append(z)
            as_.append(a)
    return Forward(x=as_[0], z=zs, a=as_)


def backward(net: Network, fwd: Forward, y: np.ndarray) -> Backward:
    """``Network.backward`` with every sum and product exact in the decimals of what it reads, each
    value rounded once: ∂L/∂a of the squared errors (ŷ − y: 0.3 − 0.1 is 0.2, not 0.19999999999999998),
    f′(z)·∂L/∂a, Σ_k w_kj δ_k, and the sums over the batch. The loss's derivative and the fused
    shortcut come from the registry, on exact decimals where its formula allows (else in float64)."""
    n, m = fwd.x.shape[0], net.output_layer.units
    scale = Decimal(1) / n if net.training.reduction == "mean" else Decimal(1)
    loss, out = net.loss, net.output_layer
    fused = loss.fused_activation == out.activation.name and loss.fused_gradient is not None
    with localcontext(_CONTEXT):
        a_out, y_dec, z_out = _decimals(fwd.a[-1]), _decimals(y), _decimals(fwd.z[-1])
        d_a = _rounded(_registry(loss.gradient, (a_out, y_dec), (fwd.a[-1], y)) * scale, (n, m))
        back = Backward([], [], [], [], [], fused)
        for i in range(len(net.layers) - 1, -1, -1):
            layer = net.layers[i]
            z, a, alpha = fwd.z[i], fwd.a[i + 1], layer.alpha_value()
            if i == len(net.layers) - 1 and fused:
                assert loss.fused_gradient is not None
                parts = (z_out, a_out, y_dec), (fwd.z[-1], fwd.a[-1], y)
                d_z = _rounded(_registry(loss.fused_gradient, *parts) * scale, (n, m))
            elif not layer.activation.elementwise:
                d_z = softmax_backward(a, d_a)
            else:
                d_z = _rounded(_decimals(layer.activation.derivative(z, a, alpha)) * _decimals(d_a), d_a.shape)
            prev, dz = _decimals(fwd.a[i]), _decimals(d_z)
            back.d_weight.insert(0, _rounded(dz.T @ prev, layer.weight.shape))
            bias = {"neuron": dz.sum(axis=0), "shared": np.array([dz.sum()])}.get(layer.bias_mode, np.zeros(0))
            back.d_bias.insert(0, _rounded(bias, (len(bias),)))
            d_alpha = np.zeros(0)
            if layer.alpha_name and layer.activation.alpha_derivative is not None:
                slope = _decimals(layer.activation.alpha_derivative(z, a, alpha))
                d_alpha = _rounded(np.array([(slope * _decimals(d_a)).sum()]), (1,))
            back.d_alpha.insert(0, d_alpha)
            back.d_a.insert(0, d_a)
            back.d_z.insert(0, d_z)
            d_a = _rounded(dz @ _decimals(layer.weight), (n, layer.weight.shape[1]))
    return back


def _decimals(x: np.ndarray) -> np.ndarray:
    """An array of each value's decimal (dtype object), for exact NumPy arithmetic."""
    arr = np.asarray(x, dtype=np.float64)
    return np.array([decimal(v) for v in arr.ravel().tolist()], dtype=object).reshape(arr.shape)


def _rounded(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Exact decimals rounded once, to float64."""
    return np.array([float(v) for v in np.asarray(x, dtype=object).ravel().tolist()], dtype=np.float64).reshape(shape)


def _registry(
    f: Callable[..., np.ndarray], exact: tuple[np.ndarray, ...], binary: tuple[np.ndarray, ...]
) -> np.ndarray:
    """The registry's formula on exact decimals where it is plain arithmetic (ŷ − y), else on float64
    (a formula with a float constant, a log or a floor such as max(a, 1e-300) raises on decimals)."""
    try:
        result = np.asarray(f(*exact), dtype=object)
    except (TypeError, AttributeError, ArithmeticError):
        return _decimals(f(*binary))
    cells = [v if isinstance(v, Decimal) else decimal(v) for v in result.ravel().tolist()]
    return np.array(cells, dtype=object).reshape(result.shape)


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
