"""A shaped network's step as the paper works it: sums of short decimals in decimals, and a sum
that cancels below float64's rounding of its terms as the 0 it is on paper.

float64 leaves 2.8×10⁻¹⁷ where 0.1 + 0.2 − 0.3 is 0 on paper, and 1.0000000000000002 where
0.11 + 0.22 + 0.33 + 0.24 + 0.1 is 1; a ReLU after the first takes the slope 1 where the paper takes
ReLU′(0) = 0. The explained step (record.model_step), the checker's replay (check.model_values) and
the updates between explained steps work a dense or convolution op's forward sums, its input's and
tensors' gradients and its update so; training keeps float64's. (The dense record does the same
for a whole `Network`: record.exact.)
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np

from chainrule.engine.activations import ACTIVATIONS
from chainrule.engine.layers.base import Cache, Op, activated, cancelled
from chainrule.engine.layers.conv import Conv2d
from chainrule.engine.model import Model, ModelBackward, ModelForward
from chainrule.record.exact import MAX_EXACT_TERMS, decimal, in_decimals, short

# The ops whose z is a sum of products (weights × inputs, plus a bias) that can cancel on paper.
_SUMS = ("dense", "conv2d")


def paper_update(model: Model, back: ModelBackward) -> Model:
    """`model.updated` as the paper works it: a dense or convolution tensor's new value that cancels
    below float64's rounding of the old value and its step (0.1 − 0.5 · 0.2) is 0."""
    new = model.updated(back)
    ops = []
    for before, after in zip(model.ops, new.ops, strict=True):
        if before.kind in _SUMS:
            old = before.params()
            after = after.with_params(
                {r: cancelled(t, np.abs(old[r]) + np.abs(t - old[r])) for r, t in after.params().items()}
            )
        ops.append(after)
    return replace(new, ops=ops)


def on_paper(op: Op, cache: Cache) -> tuple[Cache, np.ndarray | None]:
    """An op's forward as the paper works it: a dense or convolution sum of short decimals (the
    file's weights and inputs, and sums of them) is worked in decimals and rounded once, so
    0.1 + 0.2 − 0.3 is 0 and 0.11 + 0.22 + 0.33 + 0.24 + 0.1 is 1, not float64's 2.8×10⁻¹⁷ and
    1.0000000000000002; any other sum that cancels below float64's rounding of its terms is 0. The
    activation sees that z (ReLU′(0) = 0 by the registry's convention). Also, where float64's z lies
    across a kink from the paper's (its slope there is not the paper's), float64's z (NaN
    elsewhere); None where nothing changed."""
    if op.kind not in _SUMS:
        return cache, None
    z = _in_decimals(op, cache.x)
    if z is None:
        z = cancelled(cache.z, _sizes(op).forward(np.abs(cache.x), True).z)
    if np.array_equal(z, cache.z):
        return cache, None
    act, alpha = op.activation, float(op.activation.alpha or 0.0)
    across = None
    if act.elementwise:
        kink = act.derivative(cache.z, cache.a, alpha) != act.derivative(z, act.value(z, alpha), alpha)
        across = np.where(kink, cache.z, np.nan)
    return activated(op, cache.x, z, **cache.extra), across


def _in_decimals(op: Op, x: np.ndarray) -> np.ndarray | None:
    """The op's map (no activation) on its input and tensors as Decimals, rounded once to float64;
    None where a number is not a short decimal or the op is too large to work so."""
    params = op.params()
    arrays = [x, *params.values()]
    if sum(a.size for a in arrays) * max(1, x.size) > MAX_EXACT_TERMS or not all(
        short(float(v)) for a in arrays for v in a.flat
    ):
        return None
    as_decimal = np.vectorize(decimal, otypes=[object])
    exact = replace(op, activation=ACTIVATIONS["identity"]).with_params({r: as_decimal(t) for r, t in params.items()})  # type: ignore[type-var]
    x_exact = as_decimal(x)
    if isinstance(exact, Conv2d) and exact.padding != (0, 0):  # padded here, with decimal zeros
        (ph, pw), lead = exact.padding, [(0, 0)] * (x.ndim - 2)
        x_exact = np.pad(x_exact, [*lead, (ph, ph), (pw, pw)], constant_values=Decimal(0))  # type: ignore[call-overload]
        exact = replace(exact, padding=(0, 0))
    with in_decimals():
        z = exact.forward(x_exact, True).z
    return np.asarray(z, dtype=np.float64) + 0.0


def settled(
    op: Op, cache: Cache, d_z: np.ndarray, d_x: np.ndarray, grads: dict[str, np.ndarray]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A dense or convolution op's ∂L/∂input and ∂L/∂θ as the paper works them: a sum that cancels
    below float64's rounding of its terms is 0 (their sizes: the same backward on |∂L/∂z|, |W|, |x|)."""
    if op.kind not in _SUMS:
        return d_x, grads
    size_x, size_grads = _sizes(op).backward_z(np.abs(d_z), replace(cache, x=np.abs(cache.x)))
    return cancelled(d_x, size_x), {r: cancelled(g, size_grads[r]) for r, g in grads.items()}


def _sizes(op: Op) -> Op:
    """The op with every tensor's sizes (|W|, |b|): its map on |x| gives the sizes of a sum's terms,
    what `cancelled` measures a sum's rounding against."""
    return op.with_params({r: np.abs(t) for r, t in op.params().items()})


def paper_forward(model: Model, x: np.ndarray) -> tuple[ModelForward, dict[int, np.ndarray]]:
    """`model.forward` with every op's forward as the paper works it (`on_paper`), and float64's z
    where training, which keeps it, is across a kink from the paper's 0, by op. Training itself is
    unchanged."""
    a = np.asarray(x, dtype=model.training.dtype)
    first = a
    caches: list[Cache] = []
    other: dict[int, np.ndarray] = {}
    for i, op in enumerate(model.ops):
        cache, across = on_paper(op, op.forward(a, True))
        if across is not None and not np.all(np.isnan(across)):
            other[i] = across
        caches.append(cache)
        a = cache.a
    return ModelForward(x=first, caches=caches), other
