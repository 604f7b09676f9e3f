"""One step in matrix form: the same update as the step record, worked with vectors and matrices.

Examples are the columns (one column per example of the batch), neurons the rows:

    Z⁽ˡ⁾ = W⁽ˡ⁾ A⁽ˡ⁻¹⁾ + b⁽ˡ⁾ 1ᵀ,   A⁽ˡ⁾ = f(Z⁽ˡ⁾),   A⁽⁰⁾ = X
    ∂L/∂Â = s G,   G = ∂ℓ/∂ŷ per example,   s = 1/N for a mean (1 for a sum)
    Δ⁽ᴸ⁾ = ∂L/∂Â ⊙ f′(Z⁽ᴸ⁾)   (softmax: each column J ∂L/∂â, J = diag(â) − â âᵀ; fused: s (Ŷ − Y))
    ∂L/∂A⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀ Δ⁽ˡ⁺¹⁾,   Δ⁽ˡ⁾ = ∂L/∂A⁽ˡ⁾ ⊙ f′(Z⁽ˡ⁾)
    ∂L/∂W⁽ˡ⁾ = Δ⁽ˡ⁾ (A⁽ˡ⁻¹⁾)ᵀ  (the product sums over the batch's columns),   ∂L/∂b⁽ˡ⁾ = Δ⁽ˡ⁾ 1
    W_new = W − η ∂L/∂W  (frozen entries kept)

Every matrix is computed here by matrix products from the record's inputs, targets and
parameters, not copied from the record's scalars: that the two agree entry by entry is what
tests/test_matrix.py checks. Each entry carries the scalar name the record gives it (dL/dw5 is
entry (1,1) of ∂L/∂W⁽²⁾), so a view can tie the two notations together. Where an entry agrees with
its scalar to rounding error, it takes the scalar's value: the record's sums are exact in the
file's decimals (record.exact), a float64 product is not (a z that is 0 on paper would show as
4.857e−17, and ReLU′ there as 1); an entry that disagrees is kept as computed, for the test to catch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from chainrule.engine.functions import ACTIVATIONS, LOSSES
from chainrule.record.step import LayerInfo, NeuronSum, StepRecord

Names = tuple[tuple[str, ...], ...]


@dataclass(frozen=True, eq=False)
class Named:
    """A matrix and the record's name for each entry ('' where an entry has no scalar of its own)."""

    values: np.ndarray
    names: Names

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.values.shape
        return int(rows), int(cols)


@dataclass(frozen=True, eq=False)
class LayerMatrices:
    """Layer l's matrices for one step; every (units × N) matrix has one column per example."""

    index: int  # l, from 1
    info: LayerInfo
    weight: Named  # W⁽ˡ⁾, units × fan_in
    bias: Named | None  # b⁽ˡ⁾: units × 1 per neuron, 1 × 1 shared, None without a bias
    prev: Named  # A⁽ˡ⁻¹⁾, fan_in × N
    z: Named  # W A⁽ˡ⁻¹⁾ + b
    a: Named  # f(Z)
    derivative: Named | None  # f′(Z) entry by entry; None for softmax (its Jacobian is not diagonal)
    jacobians: tuple[np.ndarray, ...]  # softmax: J = diag(a) − a aᵀ per example; empty otherwise
    d_a: Named  # ∂L/∂A⁽ˡ⁾
    delta: Named  # Δ⁽ˡ⁾ = ∂L/∂Z⁽ˡ⁾
    d_weight: Named  # Δ (A⁽ˡ⁻¹⁾)ᵀ
    d_bias: Named | None  # Δ 1 (per neuron) or 1ᵀ Δ 1 (shared)
    d_alpha: float | None  # Σ ∂A/∂α ⊙ ∂L/∂A for a learnable α, else None
    weight_new: Named
    bias_new: Named | None
    frozen: frozenset[str]


@dataclass(frozen=True, eq=False)
class MatrixStep:
    """The whole step in matrix form: layers in order, the loss and its gradient at the output."""

    record: StepRecord
    x: Named  # A⁽⁰⁾ = X, inputs × N
    y: Named  # Y, outputs × N
    layers: tuple[LayerMatrices, ...]
    per_example_gradient: np.ndarray  # G = ∂ℓ⁽ᵏ⁾/∂ŷ, one column per example (before the 1/N)
    scale: float  # 1/N for a mean, 1 for a sum
    losses: np.ndarray  # ℓ⁽ᵏ⁾ of each example
    loss: float  # L = s Σ ℓ⁽ᵏ⁾

    @property
    def examples(self) -> int:
        return int(self.x.values.shape[1])


def matrix_step(record: StepRecord) -> MatrixStep:
    """The record's step worked in matrices (computed afresh, entries named as the record names them)."""
    v, n = record.values, len(record.examples)
    sfx = [record.suffix(k) for k in range(n)]
    frozen = frozenset(u.param for u in record.updates if u.frozen)
    x = _grid(v, [[f"{i}{s}" for s in sfx] for i in record.inputs])
    y = _grid(v, [[f"y_{o}{s}" for s in sfx] for o in record.output_neurons])
    forward = []
    prev, start = x, 0
    for li, info in enumerate(record.layers):
        sums = record.sums[start : start + len(info.neurons)]
        start += len(info.neurons)
        weight = _grid(v, [[w for w, _ in s.terms] for s in sums])
        bias = _bias(v, info, sums)
        z = weight.values @ prev.values + (bias.values if bias is not None else 0.0)
        z = _as_recorded(v, z, _names(info.neurons, sfx, "z_"))
        act = ACTIVATIONS[info.activation]
        a = _as_recorded(v, act.value(z.T, info.alpha or 0.0).T, _names(info.neurons, sfx, "a_"))
        forward.append((li, info, weight, bias, prev, z, a))
        prev = Named(a, _names(info.neurons, sfx, "a_"))
    loss = LOSSES[record.loss]
    a_out, z_out = forward[-1][6], forward[-1][5]
    scale = 1.0 / n if record.reduction == "mean" else 1.0
    g = loss.gradient(a_out.T, y.values.T).T
    if record.fused and loss.fused_value is not None:
        losses = loss.fused_value(z_out.T, y.values.T)
    else:
        losses = loss.value(a_out.T, y.values.T)
    layers: list[LayerMatrices] = []
    d_a = scale * g
    for li, info, weight, bias, prev, z, a in reversed(forward):
        last = li == len(forward) - 1
        mats = _backward(record, li, info, weight, bias, prev, z, a, d_a, last, y.values, scale, frozen, sfx)
        layers.insert(0, mats)
        d_a = weight.values.T @ mats.delta.values
    return MatrixStep(record, x, y, tuple(layers), g, scale, np.asarray(losses), float(scale * np.sum(losses)))


def _backward(
    record: StepRecord,
    li: int,
    info: LayerInfo,
    weight: Named,
    bias: Named | None,
    prev: Named,
    z: np.ndarray,
    a: np.ndarray,
    d_a: np.ndarray,
    last: bool,
    y: np.ndarray,
    scale: float,
    frozen: frozenset[str],
    sfx: list[str],
) -> LayerMatrices:
    """One layer's backward pass: Δ from ∂L/∂A, then the gradients and the updated parameters."""
    act = ACTIVATIONS[info.activation]
    alpha = info.alpha or 0.0
    derivative: Named | None = None
    jacobians: tuple[np.ndarray, ...] = ()
    loss = LOSSES[record.loss]
    v = record.values
    d_a = _as_recorded(v, d_a, _names(info.neurons, sfx, "dL/da_"))
    if act.elementwise:
        names = tuple(tuple(f"da_{n}/dz_{n}{s}" for s in sfx) for n in info.neurons)
        derivative = Named(_as_recorded(v, act.derivative(z.T, a.T, alpha).T, names), names)
    else:
        jacobians = tuple(np.diag(a[:, k]) - np.outer(a[:, k], a[:, k]) for k in range(a.shape[1]))
    if last and record.fused and loss.fused_gradient is not None:
        delta = scale * loss.fused_gradient(z.T, a.T, y.T).T
    elif derivative is not None:
        delta = d_a * derivative.values
    else:
        delta = np.stack([jac @ d_a[:, k] for k, jac in enumerate(jacobians)], axis=1)
    delta = _as_recorded(v, delta, _names(info.neurons, sfx, "dL/dz_"))
    d_weight = _as_recorded(v, delta @ prev.values.T, _prefixed(weight, "dL/d"))
    d_bias = None
    if bias is not None:
        summed = delta.sum(axis=1, keepdims=True)
        summed = summed if info.bias_mode == "neuron" else summed.sum(keepdims=True)
        d_bias = Named(_as_recorded(v, summed, _prefixed(bias, "dL/d")), _prefixed(bias, "dL/d"))
    d_alpha = None
    if info.alpha_name and act.alpha_derivative is not None:
        d_alpha = float(np.sum(act.alpha_derivative(z.T, a.T, alpha).T * d_a))
    eta = record.learning_rate
    return LayerMatrices(
        index=li + 1,
        info=info,
        weight=weight,
        bias=bias,
        prev=prev,
        z=Named(z, _names(info.neurons, sfx, "z_")),
        a=Named(a, _names(info.neurons, sfx, "a_")),
        derivative=derivative,
        jacobians=jacobians,
        d_a=Named(d_a, _names(info.neurons, sfx, "dL/da_")),
        delta=Named(delta, _names(info.neurons, sfx, "dL/dz_")),
        d_weight=Named(d_weight, _prefixed(weight, "dL/d")),
        d_bias=d_bias,
        d_alpha=d_alpha,
        weight_new=_updated(weight, d_weight, eta, frozen, v),
        bias_new=_updated(bias, d_bias.values, eta, frozen, v) if bias is not None and d_bias is not None else None,
        frozen=frozen,
    )


def _grid(values: dict[str, float], names: list[list[str]]) -> Named:
    return Named(np.array([[values[n] for n in row] for row in names], dtype=float), tuple(map(tuple, names)))


def _names(neurons: tuple[str, ...], sfx: list[str], prefix: str) -> Names:
    return tuple(tuple(f"{prefix}{n}{s}" for s in sfx) for n in neurons)


def _prefixed(m: Named, prefix: str) -> Names:
    return tuple(tuple(prefix + n for n in row) for row in m.names)


def _bias(values: dict[str, float], info: LayerInfo, sums: tuple[NeuronSum, ...]) -> Named | None:
    """b⁽ˡ⁾ as a column (one per neuron) or a 1 × 1 matrix (shared: broadcast to every neuron)."""
    if info.bias_mode == "neuron":
        return _grid(values, [[s.bias or ""] for s in sums])
    if info.bias_mode == "shared":
        return _grid(values, [[info.bias_names[0]]])
    return None


def _updated(m: Named, gradient: np.ndarray, eta: float, frozen: frozenset[str], values: dict[str, float]) -> Named:
    """θ − η ∂L/∂θ entry by entry, a frozen entry kept as it was."""
    learns = np.array([[name not in frozen for name in row] for row in m.names], dtype=bool)
    names = tuple(tuple(f"{n}_new" for n in row) for row in m.names)
    return Named(_as_recorded(values, np.where(learns, m.values - eta * gradient, m.values), names), names)


def _as_recorded(values: dict[str, float], m: np.ndarray, names: Names) -> np.ndarray:
    """m with each entry that agrees with the record's value of its name to rounding error (the
    tolerance tests/test_matrix.py holds the two to) replaced by that value, exact in the file's decimals."""
    out = np.array(m, dtype=np.float64)
    for (i, j), x in np.ndenumerate(out):
        r = values.get(names[i][j])
        if r is not None and r != x and math.isclose(x, r, rel_tol=1e-12, abs_tol=1e-12):
            out[i, j] = r
    return out
