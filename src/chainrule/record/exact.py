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
from collections.abc import Iterable
from decimal import Context, Decimal, localcontext

import numpy as np

from chainrule.engine.functions import Activation
from chainrule.engine.network import Forward, Network

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
