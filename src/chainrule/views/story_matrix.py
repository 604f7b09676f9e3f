"""The step in matrix form, told as document blocks: every matrix written out, its shape stated.

The numbers come from record.matrix (computed by matrix products, named like the record's
scalars); this module only writes them. Where a reader redoing a product with the shown
(rounded) entries would not get the shown result, the equation says it used unrounded values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from chainrule.engine.functions import ACTIVATIONS
from chainrule.record.matrix import LayerMatrices, MatrixStep, Named, matrix_step
from chainrule.record.step import StepRecord
from chainrule.views.doc import Block, Heading, Math, Matrix, MatrixEquation, Para, layer_sup
from chainrule.views.matrices import SHOWN, d, equation, matrix, result, shapes, shown, sym
from chainrule.views.numbers import DEFAULT_DIGITS
from chainrule.views.story_matrix_delta import hidden_delta, output_delta
from chainrule.views.story_matrix_ties import ties
from chainrule.views.writer import Writer


def matrix_story(records: list[StepRecord], digits: int = DEFAULT_DIGITS) -> list[Block]:
    """The whole document in matrix form: one step, or several one after another."""
    first = records[0]
    blocks: list[Block] = [Heading(1, first.title or "A backpropagation step in matrix form")]
    for i, record in enumerate(records):
        level = 1
        if len(records) > 1:
            level = 2
            n = ", ".join(str(e + 1) for e in record.examples)
            blocks.append(Heading(2, f"Step {i + 1} (example{'s' if len(record.examples) > 1 else ''} {n})"))
        blocks += list(_step(Writer(record, digits, level), matrix_step(record)))
    return blocks


def _step(w: Writer, m: MatrixStep) -> Iterator[Block]:
    yield from _intro(w, m)
    for layer in m.layers:
        yield from _forward(w, layer)
    yield from _loss(w, m)
    yield w.h(1, "Backward pass")
    yield from output_delta(w, m)
    for layer in reversed(m.layers[:-1]):
        yield from hidden_delta(w, m.layers[layer.index], layer)
    yield w.h(1, "Gradients")
    for layer in m.layers:
        yield from _gradients(w, layer, m.examples)
    yield w.h(1, "Update")
    for layer in m.layers:
        yield from _update(w, layer)
    yield from ties(w, m)


def _intro(w: Writer, m: MatrixStep) -> Iterator[Block]:
    n = m.examples
    yield w.h(1, "Matrix form")
    cols = "its one example the column" if n == 1 else f"each example a column ({n} examples)"
    yield Para(
        (
            f"The same update with vectors and matrices: each neuron is a row, {cols}. A shape is "
            "rows × columns, and entry (i, j) is row i, column j, counted from 1. ",
            Math(r"A" + layer_sup(0) + " = X"),
            " holds the inputs.",
        )
    )
    big = any(max(named.shape) > SHOWN for layer in m.layers for named in (layer.weight, layer.z))
    if big:
        yield Para(
            (
                f"Matrices with more than {SHOWN} rows or columns show their first {SHOWN - 1} and their last, "
                "with dots for the rest; --format json --form matrix gives every entry.",
            )
        )


def _forward(w: Writer, layer: LayerMatrices) -> Iterator[Block]:
    ix, info = layer.index, layer.info
    yield w.h(1, f"Layer {ix} ({info.name}): forward")
    operands: tuple[str | Matrix, ...] = (matrix(w, layer.weight.values), matrix(w, layer.prev.values))
    printed = shown(w, layer.weight.values) @ shown(w, layer.prev.values)
    how = sym("W", ix) + " " + sym("A", ix - 1)
    if layer.bias is not None:
        how += " + " + sym("b", ix)
        operands += ("+", matrix(w, layer.bias.values))
        printed = printed + shown(w, layer.bias.values)
        yield Para(_bias_words(w, layer))
    yield equation(w, sym("Z", ix), how, operands, layer.z.values, printed)
    items = [(sym("W", ix), layer.weight), (sym("A", ix - 1), layer.prev), (sym("Z", ix), layer.z)]
    if layer.bias is not None:
        items.insert(2, (sym("b", ix), layer.bias))
    yield shapes(*items)
    act = ACTIVATIONS[info.activation]
    alpha = ""
    if info.alpha is not None:
        alpha = f" with α = {w.n(info.alpha).replace('-', '−')}" + (" (learnable, named " if info.alpha_name else "")
    words: list[str | Math] = [f"f is {info.activation}{alpha}"]
    if info.alpha_name:
        words += [w.m(info.alpha_name), ")"]
    words.append(", applied to each entry." if act.elementwise else ", applied to each column.")
    yield Para(tuple(words))
    z_shown = shown(w, layer.z.values)
    printed_a = act.value(z_shown.T, info.alpha or 0.0).T
    yield equation(w, sym("A", ix), rf"f\left({sym('Z', ix)}\right)", (), layer.a.values, printed_a)


def _bias_words(w: Writer, layer: LayerMatrices) -> tuple[str | Math, ...]:
    ix, info = layer.index, layer.info
    if info.bias_mode == "shared":
        return (
            Math(sym("b", ix)),
            " is one number, ",
            w.m(info.bias_names[0]),
            ", shared by every neuron of the layer: it is added to every entry.",
        )
    return (Math(sym("b", ix)), " has one entry per neuron; it is added to every column (every example).")


def _loss(w: Writer, m: MatrixStep) -> Iterator[Block]:
    r, n = m.record, m.examples
    yield w.h(1, "Loss")
    yield Para(
        (
            "The targets ",
            Math("Y"),
            f" ({m.y.shape[0]} × {n}) beside the outputs ",
            Math(r"\hat{Y} = " + sym("A", len(m.layers))),
            f", loss {r.loss}, each example's loss ",
            Math(r"\ell^{(k)}"),
            ":",
        )
    )
    yield MatrixEquation(("Y =", matrix(w, m.y.values), r",\quad \hat{Y} \approx", matrix(w, m.layers[-1].a.values)))
    losses = m.losses.reshape(1, -1)
    terms = " + ".join(w.s(float(x)) for x in m.losses[: SHOWN * 2])
    if n > SHOWN * 2:
        terms += r" + \cdots"
    scale = rf"\frac{{1}}{{{n}}}" if r.reduction == "mean" and n > 1 else ""
    printed = sum(w.value(float(x)) for x in m.losses) * m.scale
    rel, note = result(w, np.array([m.loss]), np.array([printed]))
    yield MatrixEquation((r"\ell =", matrix(w, losses)))
    how = r"\frac{1}{N} \sum_{k} \ell^{(k)}" if scale else r"\sum_{k} \ell^{(k)}"
    worked = f"{how} = {scale}" + (rf"\left({terms}\right)" if scale else terms) if n > 1 else r"\ell"
    yield MatrixEquation((f"L = {worked}", rel, w.n(m.loss), *((note,) if note else ())))
    if r.reduction == "mean" and n > 1:
        yield Para((f"The loss is the mean over the batch: the 1/{n} carries into every gradient below.",))


def _gradients(w: Writer, layer: LayerMatrices, n: int) -> Iterator[Block]:
    ix = layer.index
    yield w.h(2, f"Layer {ix} ({layer.info.name})")
    operands = (matrix(w, layer.delta.values), matrix(w, layer.prev.values.T))
    printed = shown(w, layer.delta.values) @ shown(w, layer.prev.values.T)
    how = sym(r"\Delta", ix) + r" \left(" + sym("A", ix - 1) + r"\right)^{\top}"
    yield equation(w, d(sym("W", ix)), how, operands, layer.d_weight.values, printed)
    if n > 1:
        yield Para(
            (
                f"The product adds up the {n} examples' outer products ",
                Math(r"\delta^{(k)} \left(a^{(k)}\right)^{\top}"),
                ": the gradient is a sum over the batch (a mean's 1/N is already inside ",
                Math(sym(r"\Delta", ix)),
                ").",
            )
        )
    yield shapes((d(sym("W", ix)), layer.d_weight))
    if layer.d_bias is not None:
        yield _bias_gradient(w, layer)
    if layer.d_alpha is not None and layer.info.alpha_name:
        a = layer.info.alpha_name
        yield MatrixEquation(
            (
                d(w.t(a)),
                r"= \sum_{i,j} \left(\frac{\partial "
                + sym("A", ix)
                + r"}{\partial \alpha} \odot "
                + d(sym("A", ix))
                + r"\right)_{ij}",
                w.eq(layer.d_alpha),
                w.n(layer.d_alpha),
            )
        )


def _bias_gradient(w: Writer, layer: LayerMatrices) -> MatrixEquation:
    ix = layer.index
    assert layer.d_bias is not None
    delta = shown(w, layer.delta.values)
    if layer.info.bias_mode == "shared":
        how = (
            r"\mathbf{1}^{\top} "
            + sym(r"\Delta", ix)
            + r" \mathbf{1} \text{ (every entry of } "
            + sym(r"\Delta", ix)
            + r"\text{ added: the bias is shared)}"
        )
        printed = np.array([[delta.sum()]])
    else:
        how = sym(r"\Delta", ix) + r" \mathbf{1} \text{ (each row added over the examples)}"
        printed = delta.sum(axis=1, keepdims=True)
    return equation(w, d(sym("b", ix)), how, (), layer.d_bias.values, printed)


def _update(w: Writer, layer: LayerMatrices) -> Iterator[Block]:
    ix, eta = layer.index, w.r.learning_rate
    pairs: list[tuple[str, Named, Named, Named | None]] = [("W", layer.weight, layer.weight_new, layer.d_weight)]
    if layer.bias is not None and layer.bias_new is not None:
        pairs.append(("b", layer.bias, layer.bias_new, layer.d_bias))
    for letter, old, new, grad in pairs:
        assert grad is not None
        printed = shown(w, old.values) - w.value(eta) * shown(w, grad.values)
        learns = np.array([[n not in layer.frozen for n in row] for row in old.names])
        printed = np.where(learns, printed, shown(w, old.values))
        lhs = sym(letter, ix) + r"_{\text{new}}"
        how = sym(letter, ix) + rf" - \eta \, {d(sym(letter, ix))}"
        ops: tuple[str | Matrix, ...] = (matrix(w, old.values), f"- {w.n(eta)}", matrix(w, grad.values))
        frozen = [n for row in old.names for n in row if n in layer.frozen]
        if frozen:
            # M is 1 where a parameter learns, 0 where it is frozen: the update leaves those as they were.
            how = sym(letter, ix) + rf" - \eta \left(M \odot {d(sym(letter, ix))}\right)"
            ops = (ops[0], ops[1], r"\left(", matrix(w, learns.astype(float)), r"\odot", ops[2], r"\right)")
        yield equation(w, lhs, how, ops, new.values, printed)
        if frozen:
            yield Para(("Frozen, kept as they were (0 in M): ", *_listed(w, frozen, w.m), "."))


def _listed(w: Writer, names: list[str], each: Callable[[str], Math]) -> list[str | Math]:
    out: list[str | Math] = []
    for i, name in enumerate(names):
        out += [", " if i else "", each(name)]
    return out
