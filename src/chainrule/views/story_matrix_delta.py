"""The matrix form's backward pass: Δ at the output, then Δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀΔ⁽ˡ⁺¹⁾ ⊙ f′(Z⁽ˡ⁾) layer by layer.

At the output Δ is ∂L/∂Ŷ ⊙ f′(Z) for an element-wise activation; softmax's Jacobian is not
diagonal, so each example's column is J ∂L/∂ŷ with J = diag(ŷ) − ŷŷᵀ; where the loss is fused
with its activation (cross-entropy after softmax, binary cross-entropy after sigmoid) the chain
collapses to Ŷ − Y, and for softmax the Jacobian is worked for one example to show it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from chainrule.engine.functions import ACTIVATIONS, LOSSES
from chainrule.record.matrix import LayerMatrices, MatrixStep
from chainrule.views.doc import Block, Math, Matrix, MatrixEquation, Para
from chainrule.views.matrices import SHOWN, d, equation, matrix, shapes, shown, sym
from chainrule.views.writer import Writer

JACOBIANS = 3  # examples whose softmax Jacobian is written out


def output_delta(w: Writer, m: MatrixStep) -> Iterator[Block]:
    """Δ⁽ᴸ⁾ = ∂L/∂Z⁽ᴸ⁾, the way this loss and output activation give it."""
    out = m.layers[-1]
    yield w.h(2, f"Output layer {out.index} ({out.info.name}): Δ")
    if m.record.fused:
        yield from _fused(w, m, out)
        return
    yield from _d_output(w, m, out)
    if out.derivative is not None:
        yield from _elementwise(w, out, d(r"\hat{Y}"))
    else:
        yield from _jacobian(w, out)


def hidden_delta(w: Writer, above: LayerMatrices, layer: LayerMatrices) -> Iterator[Block]:
    """∂L/∂A⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀ Δ⁽ˡ⁺¹⁾, then Δ⁽ˡ⁾ = ∂L/∂A⁽ˡ⁾ ⊙ f′(Z⁽ˡ⁾)."""
    ix = layer.index
    yield w.h(2, f"Layer {ix} ({layer.info.name}): Δ")
    how = r"\left(" + sym("W", ix + 1) + r"\right)^{\top} " + sym(r"\Delta", ix + 1)
    operands = (matrix(w, above.weight.values.T), matrix(w, above.delta.values))
    printed = shown(w, above.weight.values.T) @ shown(w, above.delta.values)
    yield equation(w, d(sym("A", ix)), how, operands, layer.d_a.values, printed)
    if layer.derivative is not None:
        yield from _elementwise(w, layer, d(sym("A", ix)))
    else:
        yield from _jacobian(w, layer)
    yield shapes((d(sym("A", ix)), layer.d_a), (sym(r"\Delta", ix), layer.delta))


def _d_output(w: Writer, m: MatrixStep, out: LayerMatrices) -> Iterator[Block]:
    """∂L/∂Ŷ = s G: each example's ∂ℓ/∂ŷ, times 1/N for a mean."""
    loss = LOSSES[m.record.loss]
    n = m.examples
    yield Para(
        (
            "G holds each example's ",
            Math(r"\partial \ell / \partial \hat{y}"),
            ", by the loss's formula ",
            Math(loss.gradient_formula),
            ".",
        )
    )
    g = m.per_example_gradient
    if m.record.reduction == "mean" and n > 1:  # the mean of one example is itself
        yield equation(
            w, d(r"\hat{Y}"), r"\frac{1}{N} G", (rf"\frac{{1}}{{{n}}}", matrix(w, g)), out.d_a.values, shown(w, g) / n
        )
    else:
        yield equation(w, d(r"\hat{Y}"), "G", (), out.d_a.values, shown(w, g))


def _elementwise(w: Writer, layer: LayerMatrices, d_a: str) -> Iterator[Block]:
    """f′(Z) entry by entry, then Δ = ∂L/∂A ⊙ f′(Z)."""
    ix, info = layer.index, layer.info
    assert layer.derivative is not None
    act = ACTIVATIONS[info.activation]
    alpha = info.alpha or 0.0
    z = shown(w, layer.z.values)
    printed = act.derivative(z.T, act.value(z.T, alpha), alpha).T
    fz = rf"f'\left({sym('Z', ix)}\right)"
    yield Para(("For ", info.activation, ", ", Math(act.derivative_formula), ", entry by entry:"))
    yield equation(w, fz, "", (), layer.derivative.values, printed)
    operands = (matrix(w, layer.d_a.values), r"\odot", matrix(w, layer.derivative.values))
    printed = shown(w, layer.d_a.values) * shown(w, layer.derivative.values)
    yield equation(w, sym(r"\Delta", ix), rf"{d_a} \odot {fz}", operands, layer.delta.values, printed)


def _jacobian(w: Writer, layer: LayerMatrices) -> Iterator[Block]:
    """Softmax: each column of Δ is J ∂L/∂a, J = diag(a) − a aᵀ of that example."""
    ix, n = layer.index, layer.a.shape[1]
    yield Para(
        (
            "Softmax mixes the outputs of one example, so its derivative is a Jacobian, not an entry-by-entry factor: ",
            Math(r"J = \operatorname{diag}(\hat{y}) - \hat{y} \hat{y}^{\top}"),
            ", and each column of Δ is ",
            Math(r"J \, \partial L / \partial \hat{y}"),
            " of that example." + (f" Written out for the first {JACOBIANS} of {n} examples." if n > JACOBIANS else ""),
        )
    )
    for k in range(min(n, JACOBIANS)):
        a = shown(w, layer.a.values[:, k : k + 1])
        jac = layer.jacobians[k]
        sup = f"^{{({k + 1})}}" if n > 1 else ""
        yield equation(
            w,
            "J" + sup,
            r"\operatorname{diag}(\hat{y}"
            + sup
            + r") - \hat{y}"
            + sup
            + r"\hat{y}^{"
            + (f"({k + 1})" if n > 1 else "")
            + r"\top}",
            (),
            jac,
            np.diag(a[:, 0]) - a @ a.T,
        )
        col = layer.d_a.values[:, k : k + 1]
        printed = shown(w, jac) @ shown(w, col)
        operands = (matrix(w, jac), matrix(w, col))
        yield equation(
            w,
            r"\delta" + sup,
            "J" + sup + r" \frac{\partial L}{\partial \hat{y}" + sup + "}",
            operands,
            layer.delta.values[:, k : k + 1],
            printed,
        )
    if n > 1:
        yield MatrixEquation((sym(r"\Delta", ix), "=", matrix(w, layer.delta.values)))


def _fused(w: Writer, m: MatrixStep, out: LayerMatrices) -> Iterator[Block]:
    """Δ = s (Ŷ − Y): the loss and its activation differentiated together; the collapse shown."""
    r, n = m.record, m.examples
    y, yhat = m.y.values, out.a.values
    sums_to_one = bool(np.allclose(y.sum(axis=0), 1.0, rtol=0, atol=1e-12)) or out.info.activation == "sigmoid"
    scale = rf"\frac{{1}}{{{n}}}" if r.reduction == "mean" and n > 1 else ""
    if sums_to_one:
        how = (r"\frac{1}{N}" if scale else "") + r"\left(\hat{Y} - Y\right)"
        printed = shown(w, yhat) - shown(w, y)
    else:
        how = (r"\frac{1}{N}" if scale else "") + r"\left(\hat{Y} \operatorname{diag}(\mathbf{1}^{\top} Y) - Y\right)"
        printed = shown(w, yhat) * shown(w, y).sum(axis=0) - shown(w, y)
        yield Para(("These targets do not sum to 1 per example, so the shortcut keeps their sum: ŷ·Σy − y.",))
    operands: list[str | Matrix] = [matrix(w, yhat), "-", matrix(w, y)]
    if scale:
        operands = [scale, r"\left(", *operands, r"\right)"]
    yield equation(w, sym(r"\Delta", out.index), how, tuple(operands), out.delta.values, printed * m.scale)
    yield shapes((sym(r"\Delta", out.index), out.delta))
    if out.info.activation == "sigmoid":
        yield Para(
            (
                "Binary cross-entropy after sigmoid: ",
                Math(
                    r"f'(z) \frac{\partial \ell}{\partial \hat{y}} = \hat{y}(1 - \hat{y}) \cdot \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})} = \hat{y} - y"
                ),
                ", so the two are differentiated together.",
            )
        )
        return
    yield from _collapse(w, m, out)


def _collapse(w: Writer, m: MatrixStep, out: LayerMatrices) -> Iterator[Block]:
    """For the first example: J ∂ℓ/∂ŷ worked out equals ŷ − y (cross-entropy after softmax)."""
    g = m.per_example_gradient[:, :1]
    jac = out.jacobians[0]
    if not (np.all(np.isfinite(g)) and np.max(np.abs(g)) < 1e6 and out.a.shape[0] <= SHOWN):
        yield Para(
            (
                "The Jacobian J = diag(ŷ) − ŷŷᵀ times ∂ℓ/∂ŷ = −y/ŷ gives ŷ − y; with these numbers (or this many outputs) it is not written out.",
            )
        )
        return
    yield Para(
        (
            "Why Ŷ − Y: for one example, the chain through softmax's Jacobian ",
            Math(r"J = \operatorname{diag}(\hat{y}) - \hat{y} \hat{y}^{\top}"),
            " and cross-entropy's ",
            Math(r"\partial \ell / \partial \hat{y} = -y \oslash \hat{y}"),
            f" (entry by entry) collapses, because the targets sum to 1. Example {m.record.examples[0] + 1}:",
        )
    )
    yield equation(w, "J", "", (), jac, None)
    product = jac @ g
    ops = (matrix(w, jac), matrix(w, g))
    yield equation(w, r"J \frac{\partial \ell}{\partial \hat{y}}", "", ops, product, shown(w, jac) @ shown(w, g))
    yhat, y = out.a.values[:, :1], m.y.values[:, :1]
    printed = shown(w, yhat) * shown(w, y).sum() - shown(w, y)
    yield equation(w, r"\hat{y} - y", "", (matrix(w, yhat), "-", matrix(w, y)), yhat * y.sum() - y, printed)
    yield Para(
        ("The same column as ", Math(r"J \, \partial \ell / \partial \hat{y}"), " above: the shortcut is exact."),
    )
