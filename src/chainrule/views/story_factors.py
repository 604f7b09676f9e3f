"""The local derivatives of the story, each written one way wherever it appears.

∂L/∂ŷ with the loss's formula (the mean's 1/N, MSE's 2/m in front), ∂a/∂z with the activation's
formula and its numbers, softmax's δ with every output's ∂L/∂a: the path form's notes and the
delta form's rows both call these, so every loss and activation is told by the same rule.
"""

from __future__ import annotations

from collections.abc import Iterator

from chainrule.engine.functions import ACTIVATIONS, LOSSES
from chainrule.record.step import Factor
from chainrule.views.doc import Block, Equations, Inline, Math, Para, Strong, partial, plain_to_tex
from chainrule.views.writer import Writer, split_formula

FLAT = "the step is flat, so no gradient passes: backpropagation cannot learn through it"

Row = tuple[str, str]


def _mean(w: Writer, tex: str) -> str:
    """The loss's ∂L/∂ŷ for one example of a batch whose losses are averaged: 1/N in front."""
    n = len(w.r.examples)
    if w.r.reduction == "mean" and n > 1:
        return rf"\frac{{1}}{{{n}}}\left({tex}\right)"
    return tex


def loss_row(w: Writer, neuron: str, k: int) -> Row:
    """∂L/∂a of one output for example k: the loss's formula in names, in numbers, and its value."""
    r, s, v = w.r, w.r.suffix(k), w.v
    loss = LOSSES[r.loss]
    m = str(len(r.output_neurons))
    a, y = f"a_{neuron}", f"y_{neuron}"
    sym = plain_to_tex(loss.gradient_plain, a=w.t(a + s), y=w.t(y + s), m=m)
    nums = plain_to_tex(loss.gradient_plain, a=w.s(v[a + s]), y=w.s(v[y + s]), m=m)
    value = v[f"dL/da_{neuron}{s}"]
    return partial("L", a + s, w.names), rf"= {_mean(w, sym)} = {_mean(w, nums)} {w.eq(value)} {w.n(value)}"


def activation_row(w: Writer, neuron: str, k: int, parts: tuple[float, ...]) -> Row:
    """∂a/∂z of one neuron: the activation's derivative in names, in its numbers (`parts`), and its value."""
    r, s, v = w.r, w.r.suffix(k), w.v
    layer = next(la for la in r.layers if neuron in la.neurons)
    act = ACTIVATIONS[layer.activation]
    a, z = f"a_{neuron}{s}", f"z_{neuron}{s}"
    value = v[f"da_{neuron}/dz_{neuron}{s}"]
    lhs = partial(a, z, w.names)
    expr = plain_to_tex(act.derivative_plain, a=w.t(a), z=w.t(z))
    if parts and act.derivative_parts_plain:
        nums = plain_to_tex(
            act.derivative_parts_plain.replace("{0}", "{p0}").replace("{1}", "{p1}"),
            **{f"p{i}": w.s(p) for i, p in enumerate(parts)},
        )
        printed = w.product(*parts) if "·" in act.derivative_parts_plain else None
        return lhs, f"= {expr} = {nums} {w.result(value, printed)}"
    return lhs, rf"= {expr} \quad \text{{at }} {w.t(z)} = {w.n(v[z])}, \ {w.eq(value)} {w.n(value)}"


def softmax_rows(w: Writer, neuron: str, k: int) -> tuple[Row, ...]:
    """δ of a softmax output: every output's ∂L/∂a, then a_j(∂L/∂a_j − Σ_m ∂L/∂a_m a_m) in numbers."""
    r, s, v = w.r, w.r.suffix(k), w.v
    outs = r.output_neurons
    a = f"a_{neuron}{s}"
    sym_sum = w.join([rf"\frac{{\partial L}}{{\partial {w.t(f'a_{m}{s}')}}} {w.t(f'a_{m}{s}')}" for m in outs])
    num_sum = w.join([rf"{w.s(v[f'dL/da_{m}{s}'])} \cdot {w.s(v[f'a_{m}{s}'])}" for m in outs])
    value = v[f"dL/dz_{neuron}{s}"]
    d_a = w.s(v[f"dL/da_{neuron}{s}"])
    return (
        (
            partial("L", f"z_{neuron}{s}", w.names),
            rf"= {w.t(a)}\left(\frac{{\partial L}}{{\partial {w.t(a)}}} - \left({sym_sum}\right)\right)",
        ),
        ("", rf"= {w.s(v[a])}\left({d_a} - \left({num_sum}\right)\right) {w.eq(value)} {w.n(value)}"),
    )


def fused_row(w: Writer, neuron: str, k: int) -> Row:
    """δ of an output whose loss and activation simplify together: ŷ − y (1/N of it for a batch mean)."""
    s, v = w.r.suffix(k), w.v
    a, y = f"a_{neuron}{s}", f"y_{neuron}{s}"
    value = v[f"dL/dz_{neuron}{s}"]
    sym, nums = f"{w.t(a)} - {w.t(y)}", f"{w.s(v[a])} - {w.s(v[y])}"
    return partial("L", f"z_{neuron}{s}", w.names), rf"= {_mean(w, sym)} = {_mean(w, nums)} {w.eq(value)} {w.n(value)}"


def _sum_tex(w: Writer, neuron: str) -> str:
    ns = next(x for x in w.r.sums if x.neuron == neuron)
    terms = [rf"{w.t(src)} \, {w.t(wt)}" for wt, src in ns.terms] + ([w.t(ns.bias)] if ns.bias else [])
    return w.join(terms)


Note = tuple[tuple[Inline, ...], tuple[Row, ...]]


def factor_note(w: Writer, f: Factor, k: int) -> Note | None:
    """Why one local derivative of a path has its value: (words, equations)."""
    r = w.r
    neuron = f.den[2:] if f.den.startswith(("a_", "z_")) else ""
    if f.kind == "loss":
        loss = LOSSES[r.loss]
        words = "the derivative of the loss with respect to the prediction:"
        return (words,), (split_formula(loss.gradient_formula), loss_row(w, neuron, k))
    if f.kind == "activation":
        neuron = f.num[2:]
        layer = next(la for la in r.layers if neuron in la.neurons)
        act = ACTIVATIONS[layer.activation]
        words = f"the derivative of the activation {act.name}: {act.derivative_words}"
        words += f"; {FLAT}:" if act.name == "binary_step" else ":"
        return (words,), (split_formula(act.derivative_formula), activation_row(w, neuron, k, f.parts))
    if f.kind == "fused":
        out = ACTIVATIONS[r.layers[-1].activation].name
        words = (
            f"with {LOSSES[r.loss].name.replace('_', ' ')} and a {out} output the two derivatives simplify together:"
        )
        return (words,), (fused_row(w, neuron, k),)
    if f.kind == "softmax":
        rows = tuple(loss_row(w, m, k) for m in r.output_neurons) + softmax_rows(w, neuron, k)
        return ("softmax's output depends on every z, through its full Jacobian:",), rows
    return _linear_note(w, f, k)


def _linear_note(w: Writer, f: Factor, k: int) -> Note | None:
    """The factors of a weighted sum: a weight, an input, a bias (1), PReLU's α."""
    s, v = w.r.suffix(k), w.v
    lhs = partial(f.num, f.den, w.names)
    if f.kind in ("weight", "input"):
        shown = w.t(f.source)
        why: tuple[Inline, ...] = (
            "the weighted sum ",
            Math(rf"{w.t(f.num)} = {_sum_tex(w, f.num.removeprefix('z_'))}"),
            " contains the term ",
            Math(rf"{w.t(f.den)} \, {shown}" if f.kind == "weight" else rf"{shown} \, {w.t(f.den)}"),
            ", and the derivative of ",
            Math(r"c \, x"),
            " with respect to ",
            Math("x"),
            " is the constant ",
            Math("c"),
            ":",
        )
        value = v[f.source + s] if f.kind == "input" else v[f.source]
        return why, ((lhs, f"= {shown} {w.eq(value)} {w.n(value)}"),)
    if f.kind == "one":
        return (Math(w.t(f.den)), " is added directly to ", Math(w.t(f.num)), ":"), ((lhs, "= 1"),)
    if f.kind == "alpha":
        return ("α scales the negative part of the activation:",), (
            (lhs, rf"= {w.t(f.source)} \text{{ if }} \le 0 \text{{, else }} 0 = {w.n(f.value)}"),
        )
    return None


def deltas(w: Writer) -> Iterator[Block]:
    """The delta form: each neuron's δ = ∂L/∂z, from the output layer down, every factor shown."""
    r = w.r
    yield Para(
        (
            "Writing out every path from the loss to every parameter would repeat the same products many times, "
            "so this network is worked in the ",
            Strong("delta form"),
            ": each neuron's ",
            Math(r"\delta_j = \partial L/\partial z_j"),
            " is computed once, from the output layer down, and reused:",
        )
    )
    yield Equations(
        (
            (r"\delta_j", r"= f'(z_j) \sum_k w_{kj} \, \delta_k"),
            (r"\frac{\partial L}{\partial w_{ji}}", r"= \delta_j \, a_i"),
        )
    )
    if any(ACTIVATIONS[la.activation].name == "binary_step" for la in r.layers):
        yield Para((f"A binary step's derivative is 0: {FLAT}.",))
    for k, row in enumerate(r.deltas):
        if r.suffix(k):
            yield Para((Strong(f"Example {r.examples[k] + 1}"),))
        by_neuron = {d.neuron: d for d in row}
        rows: list[Row] = []
        if row[-1].how == "softmax":  # softmax's δ reads every output's ∂L/∂a: all of them first
            rows += [loss_row(w, n, k) for n in r.output_neurons]
        for layer in reversed(r.layers):
            for neuron in layer.neurons:
                rows += _delta_rows(w, by_neuron[neuron].how, neuron, k)
        yield Equations(tuple(rows))


def _delta_rows(w: Writer, how: str, neuron: str, k: int) -> list[Row]:
    s = w.r.suffix(k)
    d = next(x for x in w.r.deltas[k] if x.neuron == neuron)
    name = w.t(f"delta_{neuron}") + (f"^{{({k + 1})}}" if s else "")
    z = w.t(f"z_{neuron}{s}")
    if how == "fused":
        return [(name, fused_row(w, neuron, k)[1])]
    if how == "softmax":
        rows = softmax_rows(w, neuron, k)
        return [(name, rows[0][1]), rows[1]]
    printed = w.product(d.d_a, d.derivative)
    if how == "output":
        a = w.t(f"a_{neuron}{s}")
        product = rf"\frac{{\partial L}}{{\partial {a}}} \cdot f'({z}) = {w.s(d.d_a)} \cdot {w.s(d.derivative)}"
        return [
            loss_row(w, neuron, k),
            activation_row(w, neuron, k, () if w.hand else d.parts),
            (name, f"= {product} {w.result(d.value, printed)}"),
        ]
    sup = f"^{{({k + 1})}}" if s else ""
    total = w.join([rf"{w.t(wn)} \, {w.t('delta_' + m)}{sup}" for wn, m, _, _ in d.terms])
    nums = w.join([rf"{w.s(wv)} \cdot {w.s(dv)}" for _, _, wv, dv in d.terms])
    printed = w.value(d.derivative) * sum(w.product(wv, dv) for _, _, wv, dv in d.terms)
    return [
        activation_row(w, neuron, k, () if w.hand else d.parts),
        (name, rf"= f'({z}) \left({total}\right)"),
        ("", rf"= {w.s(d.derivative)} \cdot \left({nums}\right) {w.result(d.value, printed)}"),
    ]
