"""The local derivatives of the story, each written one way wherever it appears.

∂L/∂ŷ with the loss's formula (the mean's 1/N, MSE's 2/m in front), ∂a/∂z with the activation's
formula and its numbers, softmax's δ with every output's ∂L/∂a: the path form's notes and the
delta form's rows both call these, so every loss and activation is told by the same rule.
"""

from __future__ import annotations

from collections.abc import Iterator

from chainrule.engine.functions import ACTIVATIONS, LOSSES
from chainrule.record.step import Factor
from chainrule.views.doc import Block, Equations, Inline, Math, Para, Strong
from chainrule.views.mathtree import Add, Frac, Func, Mul, Node, Note, Num, Paren, Partial, Rel, Sym, Template, Word
from chainrule.views.numbers import fmt
from chainrule.views.story_derivations import worked_output
from chainrule.views.writer import Writer, derivative_formula, gradient_formula

FLAT = "the step is flat, so no gradient passes: backpropagation cannot learn through it"

Row = tuple[Node | str, Node | str]


def _mean(w: Writer, expr: Node) -> Node:
    """The loss's ∂L/∂ŷ for one example of a batch whose losses are averaged: 1/N in front."""
    n = len(w.r.examples)
    if w.r.reduction == "mean" and n > 1:
        return Mul((Frac(Num(1, "1"), Num(n, str(n))), Paren(expr)), dot=False)
    return expr


def mean_words(w: Writer) -> tuple[str, ...]:
    """The mean's 1/N named in words, where a batch's losses are averaged."""
    n = len(w.r.examples)
    if w.r.reduction == "mean" and n > 1:
        return (f" The 1/{n} in front is the mean over the batch: N = {n} examples, each weighing 1/{n}.",)
    return ()


def loss_row(w: Writer, neuron: str, k: int) -> Row:
    """∂L/∂a of one output for example k: the loss's formula in names, in numbers, and its value."""
    r, s, v = w.r, w.r.suffix(k), w.v
    loss = LOSSES[r.loss]
    m = Num(len(r.output_neurons), str(len(r.output_neurons)))
    a, y = f"a_{neuron}", f"y_{neuron}"
    sym = Template(loss.gradient_plain, (("a", w.name(a + s)), ("y", w.name(y + s)), ("m", m)))
    nums = Template(loss.gradient_plain, (("a", w.sn(v[a + s])), ("y", w.sn(v[y + s])), ("m", m)))
    value = v[f"dL/da_{neuron}{s}"]
    return w.d_("L", a + s), Rel(("=", _mean(w, sym), "=", _mean(w, nums), w.rel(value), w.num(value)))


def activation_row(w: Writer, neuron: str, k: int, parts: tuple[float, ...]) -> Row:
    """∂a/∂z of one neuron: the activation's derivative in names, in its numbers (`parts`), and its value.

    A piecewise derivative (ReLU's 1 if z > 0, else 0) is said as a sentence: the branch that
    applies, and why (∂a_h1/∂z_h1 = 1, since z_h1 = 1.5 > 0).
    """
    r, s, v = w.r, w.r.suffix(k), w.v
    layer = next(la for la in r.layers if neuron in la.neurons)
    act = ACTIVATIONS[layer.activation]
    a, z = f"a_{neuron}{s}", f"z_{neuron}{s}"
    value = v[f"da_{neuron}/dz_{neuron}{s}"]
    lhs = w.d_(a, z)
    slots = (("a", w.name(a)), ("z", w.name(z)))
    if " if {z} > 0, else " in act.derivative_plain:
        above, _, below = act.derivative_plain.partition(" if {z} > 0, else ")
        positive = v[z] > 0
        branch = Template(above if positive else below, slots)
        why: tuple[Node | str, ...] = (w.name(z), "=", w.num(v[z]), ">" if positive else "≤", Num(0, "0"))
        if v[z] == 0:  # exactly at the kink: the convention decides, and the story says which
            why = (
                w.name(z),
                "=",
                Num(0, "0"),
                "",
                Note(f"at the kink the convention takes the slope for z ≤ 0: {act.symbol}′(0) = {fmt(value)}"),
            )
        constant = branch.plain.replace(".", "", 1).isdigit()  # 1 or 0: the number says it all
        shown: tuple[Node | str, ...] = (w.num(value),) if constant else (branch, w.rel(value), w.num(value))
        return lhs, Rel(("=", *shown, ",", Word(" since "), "", *why))
    if act.derivative_plain.replace(".", "", 1).isdigit():  # a constant slope (identity: 1)
        return lhs, Rel(("=", w.num(value), ",", Word(" the same for every "), Sym("z")))
    expr = Template(act.derivative_plain, slots)
    if parts and act.derivative_parts_plain:
        nums = Template(act.derivative_parts_plain, tuple((str(i), w.sn(p)) for i, p in enumerate(parts)))
        printed = w.product(*parts) if "·" in act.derivative_parts_plain else None
        return lhs, Rel(("=", expr, "=", nums, *w.res(value, printed)))
    return lhs, Rel(("=", expr, ",", Word(" at "), "", w.name(z), "=", w.num(v[z]), ",", w.rel(value), w.num(value)))


def softmax_rows(w: Writer, neuron: str, k: int) -> tuple[Row, ...]:
    """δ of a softmax output: every output's ∂L/∂a, then a_j(∂L/∂a_j − Σ_m ∂L/∂a_m a_m) in numbers."""
    r, s, v = w.r, w.r.suffix(k), w.v
    outs = r.output_neurons
    a = f"a_{neuron}{s}"
    sym_sum = w.terms([Mul((w.d_("L", f"a_{m}{s}"), w.name(f"a_{m}{s}")), dot=False) for m in outs])
    num_sum = w.terms([Mul((w.sn(v[f"dL/da_{m}{s}"]), w.sn(v[f"a_{m}{s}"]))) for m in outs])
    value = v[f"dL/dz_{neuron}{s}"]
    d_a = w.sn(v[f"dL/da_{neuron}{s}"])
    sym = Mul((w.name(a), Paren(Add((w.d_("L", a), Paren(sym_sum)), ("", "-")))), dot=False)
    nums = Mul((w.sn(v[a]), Paren(Add((d_a, Paren(num_sum)), ("", "-")))), dot=False)
    return (
        (w.d_("L", f"z_{neuron}{s}"), Rel(("=", sym))),
        ("", Rel(("=", nums, w.rel(value), w.num(value)))),
    )


def fused_row(w: Writer, neuron: str, k: int) -> Row:
    """δ of an output whose loss and activation simplify together: ŷ − y (1/N of it for a batch mean)."""
    s, v = w.r.suffix(k), w.v
    a, y = f"a_{neuron}{s}", f"y_{neuron}{s}"
    value = v[f"dL/dz_{neuron}{s}"]
    sym = Add((w.name(a), w.name(y)), ("", "-"))
    nums = Add((w.sn(v[a]), w.sn(v[y])), ("", "-"))
    return w.d_("L", f"z_{neuron}{s}"), Rel(("=", _mean(w, sym), "=", _mean(w, nums), w.rel(value), w.num(value)))


def _sum_node(w: Writer, neuron: str) -> Node:
    ns = next(x for x in w.r.sums if x.neuron == neuron)
    terms: list[Node] = [Mul((w.name(src), w.name(wt)), dot=False) for wt, src in ns.terms]
    return w.terms(terms + ([w.name(ns.bias)] if ns.bias else []))


Explained = tuple[tuple[Inline, ...], tuple[Row, ...]]


def factor_note(w: Writer, f: Factor, k: int) -> Explained | None:
    """Why one local derivative of a path has its value: (words, equations)."""
    r = w.r
    neuron = f.den[2:] if f.den.startswith(("a_", "z_")) else ""
    if f.kind == "loss":
        loss = LOSSES[r.loss]
        words = "the derivative of the loss with respect to the prediction:"
        return (words, *mean_words(w)), (gradient_formula(loss), loss_row(w, neuron, k))
    if f.kind == "activation":
        neuron = f.num[2:]
        layer = next(la for la in r.layers if neuron in la.neurons)
        act = ACTIVATIONS[layer.activation]
        slope = act.derivative_words.replace("'(", "′(")  # σ′(z), as everywhere else
        words = f"the derivative of the activation {act.name}: {slope}"
        words += f"; {FLAT}:" if act.name == "binary_step" else ":"
        return (words,), (derivative_formula(act), activation_row(w, neuron, k, f.parts))
    if f.kind == "fused":
        out = ACTIVATIONS[r.layers[-1].activation].name
        words = (
            f"with {LOSSES[r.loss].name.replace('_', ' ')} and a {out} output the two derivatives simplify together:"
        )
        worked = worked_output(w, neuron, k)
        if not worked:
            return (words, *mean_words(w)), (fused_row(w, neuron, k),)
        through = " worked through the activation's derivative, the sum comes to the shortcut:"
        outs = r.output_neurons if not ACTIVATIONS[r.layers[-1].activation].elementwise else (neuron,)
        return (words[:-1] + "," + through, *mean_words(w)), (*(loss_row(w, m, k) for m in outs), *worked)
    if f.kind == "softmax":
        rows = tuple(loss_row(w, m, k) for m in r.output_neurons)
        worked = worked_output(w, neuron, k)
        return ("softmax's output depends on every z, through its full Jacobian:",), rows + (
            worked or softmax_rows(w, neuron, k)
        )
    return _linear_note(w, f, k)


def _linear_note(w: Writer, f: Factor, k: int) -> Explained | None:
    """The factors of a weighted sum: a weight, an input, a bias (1), PReLU's α."""
    s, v = w.r.suffix(k), w.v
    lhs = w.d_(f.num, f.den)
    if f.kind in ("weight", "input"):
        shown = w.name(f.source)
        term = (w.name(f.den), shown) if f.kind == "weight" else (shown, w.name(f.den))
        why: tuple[Inline, ...] = (
            "the weighted sum ",
            Math(Rel((w.name(f.num), "=", _sum_node(w, f.num.removeprefix("z_"))))),
            " contains the term ",
            Math(Mul(term, dot=False)),
            ", and the derivative of ",
            Math(Mul((Sym("c"), Sym("x")), dot=False)),
            " with respect to ",
            Math(Sym("x")),
            " is the constant ",
            Math(Sym("c")),
            ":",
        )
        value = v[f.source + s] if f.kind == "input" else v[f.source]
        return why, ((lhs, Rel(("=", shown, w.rel(value), w.num(value)))),)
    if f.kind == "one":
        return (w.math(f.den), " is added directly to ", w.math(f.num), ":"), ((lhs, Rel(("=", Num(1, "1")))),)
    if f.kind == "alpha":
        z = w.name(f.source)
        below = v[f.source + s] <= 0 if f.source + s in v else f.value != 0
        why_alpha = (z, "=", w.num(v[f.source + s]), "≤" if below else ">", Num(0, "0")) if f.source + s in v else ()
        return ("α scales the negative part of the activation:",), (
            (
                lhs,
                Rel(
                    ("=", w.num(f.value), ",", Word(" since "), "", *why_alpha) if why_alpha else ("=", w.num(f.value))
                ),
            ),
        )
    return None


def deltas(w: Writer) -> Iterator[Block]:
    """The delta form: each neuron's δ = ∂L/∂z, from the output layer down, every factor shown."""
    r = w.r
    delta_j = Sym("δ", Word("j"))
    yield Para(
        (
            "Writing out every path from the loss to every parameter would repeat the same products many times, "
            "so this network is worked in the ",
            Strong("delta form"),
            ": each neuron's ",
            Math(Rel((delta_j, "=", Partial(Sym("L"), Sym("z", Word("j")), slash=True)))),
            " is computed once, from the output layer down, and reused:",
        )
    )
    weighted = Mul((Sym("Σ", Word("k")), Sym("w", Word("kj")), Sym("δ", Word("k"))), dot=False)
    yield Equations(
        (
            (delta_j, Rel(("=", Mul((Func("f", Sym("z", Word("j")), prime=True), weighted), dot=False)))),
            (Partial(Sym("L"), Sym("w", Word("ji"))), Rel(("=", Mul((delta_j, Sym("a", Word("i"))), dot=False)))),
        )
    )
    if any(ACTIVATIONS[la.activation].name == "binary_step" for la in r.layers):
        yield Para((f"A binary step's derivative is 0: {FLAT}.",))
    if mean_words(w):
        yield Para((mean_words(w)[0].strip(),))
    for k, row in enumerate(r.deltas):
        if r.suffix(k):
            yield Para((Strong(f"Example {r.examples[k] + 1}"),))
        by_neuron = {d.neuron: d for d in row}
        rows: list[Row] = []
        softmax = not ACTIVATIONS[r.layers[-1].activation].elementwise
        if row[-1].how == "softmax" or (softmax and row[-1].how == "fused"):  # every ∂L/∂a first
            rows += [loss_row(w, n, k) for n in r.output_neurons]
        for layer in reversed(r.layers):
            for neuron in layer.neurons:
                rows += _delta_rows(w, by_neuron[neuron].how, neuron, k)
        yield Equations(tuple(rows))


def delta_name(w: Writer, neuron: str, k: int) -> Sym:
    """δ of a neuron, with the example's (k) where the step holds a batch."""
    batch = bool(w.r.suffix(k))
    return w.once(("δ", neuron, k, batch), lambda: Sym("δ", Word(neuron), Paren(Word(str(k + 1))) if batch else None))  # type: ignore[return-value]


def _delta_rows(w: Writer, how: str, neuron: str, k: int) -> list[Row]:
    s = w.r.suffix(k)
    d = next(x for x in w.r.deltas[k] if x.neuron == neuron)
    name = delta_name(w, neuron, k)
    z = w.name(f"z_{neuron}{s}")
    f_z = Func("f", z, prime=True)
    worked = list(worked_output(w, neuron, k))
    if how == "fused":
        softmax = not ACTIVATIONS[w.r.layers[-1].activation].elementwise
        given = [] if softmax else [loss_row(w, neuron, k)]  # a softmax's ∂L/∂a are all written above
        return [*given, *worked, (name, fused_row(w, neuron, k)[1])]
    if how == "softmax":
        rows = softmax_rows(w, neuron, k)
        return [*worked, (name, rows[0][1]), rows[1]]
    printed = w.product(d.d_a, d.derivative)
    if how == "output":
        product = Mul((w.d_("L", f"a_{neuron}{s}"), f_z))
        return [
            loss_row(w, neuron, k),
            activation_row(w, neuron, k, () if w.hand else d.parts),
            (name, Rel(("=", product, "=", Mul((w.sn(d.d_a), w.sn(d.derivative))), *w.res(d.value, printed)))),
        ]
    sending = tuple((wn, m) for wn, m, _, _ in d.terms)

    def in_names() -> Rel:
        total = w.terms([Mul((w.name(wn), delta_name(w, m, k)), dot=False) for wn, m in sending])
        return Rel(("=", Mul((f_z, Paren(total)), dot=False)))

    nums = w.terms([Mul((w.sn(wv), w.sn(dv))) for _, _, wv, dv in d.terms])
    printed = w.value(d.derivative) * sum(w.product(wv, dv) for _, _, wv, dv in d.terms)
    return [
        activation_row(w, neuron, k, () if w.hand else d.parts),
        (name, w.once(("delta", neuron, k, s, sending), in_names)),
        ("", Rel(("=", Mul((w.sn(d.derivative), Paren(nums))), *w.res(d.value, printed)))),
    ]
