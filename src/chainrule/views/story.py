"""The worked example's story, told once as document blocks (doc.py) for every document format.

The order and content follow the reference worked example and the terminal view: architecture,
initial values, forward pass per layer, loss, every gradient as its chain of factors, updates,
summary. Every number is read from the record; nothing is differentiated here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from chainrule.engine.functions import ACTIVATIONS, LOSSES
from chainrule.record.step import NeuronSum, StepRecord
from chainrule.views.doc import (
    Block,
    Bullets,
    Equations,
    Figure,
    Heading,
    Inline,
    Math,
    Para,
    Strong,
    Table,
    plain_to_tex,
)
from chainrule.views.numbers import DEFAULT_DIGITS
from chainrule.views.opgraph_svg import GRAPH_CAPTION, opgraph_svg
from chainrule.views.story_backward import backward
from chainrule.views.story_hand import hand_table
from chainrule.views.story_update import update
from chainrule.views.svg import network_svg
from chainrule.views.writer import Part, Writer, neuron_tex, split_formula


def story(
    records: list[StepRecord],
    digits: int = DEFAULT_DIGITS,
    only: str | None = None,
    figures: bool = True,
) -> list[Block]:
    """The whole document: one step, or several one after another (each under its own heading)."""
    return [b for part in parts(records, digits, only, figures) for b in part.blocks]


def parts(
    records: list[StepRecord],
    digits: int = DEFAULT_DIGITS,
    only: str | None = None,
    figures: bool = True,
    max_terms: int | None = None,
) -> Iterator[Part]:
    """The story part by part, written lazily: a consumer that stops early pays only for what it read."""
    first = records[0]
    yield Part("title", (Heading(1, first.title or "A worked backpropagation step"),))
    yield Part("intro", tuple(_intro(first, digits, len(records))))
    for i, record in enumerate(records):
        level = 1
        if len(records) > 1:
            level = 2
            n = ", ".join(str(e + 1) for e in record.examples)
            yield Part("step", (Heading(2, f"Step {i + 1} (example{'s' if len(record.examples) > 1 else ''} {n})"),))
        w = Writer(record, digits, level, max_terms)
        if i == 0:
            yield Part("architecture", tuple(_architecture(w)))
        if figures:
            caption = "The network before the update: activations on the neurons, weights on the edges."
            yield Part("figure", (Figure(f"network-step{i + 1}", network_svg(record, digits), caption),))
        yield Part("initial", tuple(_initial(w)))
        yield from _forward(w)
        yield Part("loss", tuple(_loss(w)))
        yield from backward(w, only)
        yield Part("update", tuple(update(w, only)))
        if figures:
            caption = "The same network with its gradients: ∂L/∂w on the edges, δ = ∂L/∂z on the neurons."
            svg = network_svg(record, digits, gradients=True)
            yield Part("figure", (Figure(f"gradients-step{i + 1}", svg, caption),))
            # The same step as a computational graph of scalar operations (opgraph_svg.py).
            yield Part("figure", (Figure(f"graph-step{i + 1}", opgraph_svg(record, digits), GRAPH_CAPTION),))
        if record.hand is not None:
            yield Part("hand", tuple(hand_table(w)))
    yield Part("summary", tuple(_summary(len(records))))


def _intro(r: StepRecord, digits: int, steps: int) -> Iterator[Block]:
    what = "one step of training" if steps == 1 else f"{steps} steps of training, one after another"
    parts: list[Inline] = [f"This document works {what} of the network in {r.source}, number by number: "]
    parts.append("the forward pass, the loss, the gradient of every parameter by the chain rule, and the update. ")
    if r.hand is None:
        parts.append(f"Every number is computed exactly (float64) and shown to {digits} decimal places.")
    else:
        parts.append(
            f"It is worked as by hand: every intermediate is rounded to {r.hand} decimal places before it is used "
            "(small numbers keep one digit fewer significant), as with a calculator. "
            "The last section shows how far each rounded value is from the exact one."
        )
    if steps == 1:
        n = len(r.examples)
        which = ", ".join(str(e + 1) for e in r.examples)
        parts.append(f" This step uses example{'s' if n > 1 else ''} {which} of the file.")
    yield Para(tuple(parts))


def _architecture(w: Writer) -> Iterator[Block]:
    r = w.r
    yield w.h(1, "Network architecture")
    items: list[tuple[Inline, ...]] = [
        (
            Strong("Input layer:"),
            f" {len(r.inputs)} neuron{'s' if len(r.inputs) > 1 else ''} ",
            Math(r"\rightarrow " + ", ".join(w.t(x) for x in r.inputs)),
        )
    ]
    for i, layer in enumerate(r.layers):
        kind = "Output layer" if i == len(r.layers) - 1 else f"Hidden layer {layer.name}"
        if w.names.single and i == len(r.layers) - 1:
            shown = r"\hat{y}"
        else:
            shown = ", ".join(neuron_tex(w, n) for n in layer.neurons)
        if layer.bias_mode == "shared":
            bias: Inline = Math(w.t(layer.bias_names[0]))
            bias_words = " shared by its neurons" if len(layer.neurons) > 1 else ""
        elif layer.bias_mode == "neuron":
            bias = Math(", ".join(w.t(b) for b in layer.bias_names))
            bias_words = ", one per neuron"
        else:
            bias, bias_words = "none", ""
        act = ACTIVATIONS[layer.activation]
        count = len(layer.neurons)
        items.append(
            (
                Strong(f"{kind}:"),
                f" {count} neuron{'s' if count > 1 else ''} ",
                Math(r"\rightarrow " + shown),
                f", activation {act.name}, bias ",
                bias,
                bias_words,
            )
        )
    yield Bullets(tuple(items))
    acts = []
    for layer in r.layers:
        if layer.activation not in acts:
            acts.append(layer.activation)
    words = " and ".join(ACTIVATIONS[a].name for a in acts)
    yield Para((f"Activation{'s' if len(acts) > 1 else ''}: {words}:",))
    yield Equations(tuple(split_formula(ACTIVATIONS[a].formula) for a in acts))
    loss = LOSSES[r.loss]
    yield Para((f"Loss: {loss.name.replace('_', ' ')}, {loss.description}:",))
    yield Equations((split_formula(loss.formula),))
    batch = {"online": "one example per update (online)", "full": "the full batch per update"}.get(
        r.batch_kind, f"mini-batches of {r.batch_kind}"
    )
    yield Para(
        (
            "Training: learning rate ",
            Math(rf"\eta = {w.n(r.learning_rate)}"),
            f", {batch}, {r.reduction} of the example losses over a batch.",
        )
    )


def _initial(w: Writer) -> Iterator[Block]:
    r, v = w.r, w.v
    yield w.h(1, "1. Initial values")
    rows: list[tuple[tuple[Inline, ...], ...]] = []
    for k in range(len(r.examples)):
        s = r.suffix(k)
        rows += [((w.m(x + s),), (w.n(v[x + s]),), ("input",)) for x in r.inputs]
    for ns in r.sums:
        for weight, src in ns.terms:
            what = Math(
                f"{w.t(src.removeprefix('a_')) if src in r.inputs else neuron_tex(w, src)} \\rightarrow {neuron_tex(w, 'a_' + ns.neuron)}"
            )
            rows.append(((w.m(weight),), (w.n(v[weight]),), ("weight ", what)))
    for layer in r.layers:
        for b in layer.bias_names:
            words = f"bias of layer {layer.name}" if layer.bias_mode == "shared" else f"bias of {b.removeprefix('b_')}"
            rows.append(((w.m(b),), (w.n(v[b]),), (words,)))
        if layer.alpha_name:
            rows.append(
                ((w.m(layer.alpha_name),), (w.n(v[layer.alpha_name]),), (f"PReLU slope of layer {layer.name}",))
            )
    for k in range(len(r.examples)):
        s = r.suffix(k)
        rows += [((w.m(f"y_{n}{s}"),), (w.n(v[f"y_{n}{s}"]),), ("target",)) for n in r.output_neurons]
    yield Table(("name", "value", "what it is"), tuple(rows), (False, True, False))


def _forward(w: Writer) -> Iterator[Part]:
    """Each neuron's sum and activation in turn; a softmax layer's activations after all its sums."""
    r = w.r
    intro = Para(
        (
            "Each neuron adds up its weighted inputs and its bias, ",
            Math(r"z = \sum_i w_i a_i + b"),
            ", then applies its activation, ",
            Math("a = f(z)"),
            ".",
        )
    )
    yield Part("forward-intro", (w.h(1, "2. Forward pass"), intro))
    for k in range(len(r.examples)):
        s = r.suffix(k)
        if s:
            note = Para((Strong(f"Example {r.examples[k] + 1}"), " (values marked ", Math(f"^{{({k + 1})}}"), ")"))
            yield Part("example", (note,), example=k)
        for layer in r.layers:
            yield Part("layer", (w.h(2, f"Layer {layer.name}"),), layer.name, k)
            act = ACTIVATIONS[layer.activation]
            for ns in (x for x in r.sums if x.layer == layer.name):
                rows = _sum_rows(w, ns, s)
                if act.elementwise:
                    rows.append(_activation_row(w, ns.neuron, act.symbol, s))
                yield Part("forward", (Equations(tuple(rows)),), ns.neuron, k)
            if not act.elementwise:
                rows = [_softmax_row(w, layer.name, layer.neurons, n, s) for n in layer.neurons]
                yield Part("softmax", (Equations(tuple(rows)),), layer.name, k)
    if w.names.single:
        out = "a_" + w.names.out
        for k in range(len(r.examples)):
            s = r.suffix(k)
            shown = Math(rf"{w.t(out + s)} \approx {w.n(w.v[out + s])}")
            yield Part("prediction", (Para((Strong("Prediction:"), " ", shown)),))


def _sum_rows(w: Writer, ns: NeuronSum, s: str) -> list[tuple[str, str]]:
    """z = Σ a·w + b in names, in numbers, and its value."""
    v = w.v
    names = [f"{w.t(src + s)} \\, {w.t(wt)}" for wt, src in ns.terms]
    nums = [rf"{w.s(v[src + s])} \cdot {w.s(v[wt])}" for wt, src in ns.terms]
    printed = sum(w.product(v[src + s], v[wt]) for wt, src in ns.terms)
    if ns.bias:
        names.append(w.t(ns.bias))
        nums.append(w.s(v[ns.bias]))
        printed += w.value(v[ns.bias])
    z = f"z_{ns.neuron}{s}"
    return [
        (w.t(z), "= " + w.join(names)),
        ("", "= " + w.join(nums)),
        ("", w.result(v[z], printed)),
    ]


def _activation_row(w: Writer, n: str, symbol: str, s: str) -> tuple[str, str]:
    v = w.v
    a, z = w.t(f"a_{n}{s}"), w.t(f"z_{n}{s}")
    f = _fname(symbol)
    return (a, rf"= {f}({z}) = {f}({w.n(v[f'z_{n}{s}'])}) {w.eq(v[f'a_{n}{s}'])} {w.n(v[f'a_{n}{s}'])}")


def _softmax_row(w: Writer, layer: str, neurons: tuple[str, ...], n: str, s: str) -> tuple[str, str]:
    """a_n = e^{z_n} / Σ_m e^{z_m}, with every z of the layer written in, then the exponentials' quotient."""
    v, e = w.v, w.r.exponentials

    def frac(z: Callable[[str], str]) -> str:
        return rf"\frac{{e^{{{z(n)}}}}}{{{w.join([f'e^{{{z(m)}}}' for m in neurons])}}}"

    sym = frac(lambda m: w.t(f"z_{m}{s}"))
    nums = frac(lambda m: w.n(v[f"z_{m}{s}"]))
    a = f"a_{n}{s}"
    total = f"Σ_{layer}{s}"
    if w.hand or total not in e:  # by hand, or where e^z overflows: the quotient in z alone
        return (w.t(a), rf"= {sym} = {nums} {w.eq(v[a])} {w.n(v[a])}")
    exps = w.join([w.n(e[f"z_{m}{s}"]) for m in neurons])
    quotient = rf"\frac{{{w.n(e[f'z_{n}{s}'])}}}{{{w.n(e[total])}}}"
    printed = w.value(e[f"z_{n}{s}"]) / w.value(e[total]) if w.value(e[total]) else None
    return (
        w.t(a),
        rf"= {sym} = {nums} = \frac{{{w.n(e[f'z_{n}{s}'])}}}{{{exps}}} = {quotient} {w.result(v[a], printed)}",
    )


def _fname(symbol: str) -> str:
    return r"\sigma" if symbol == "σ" else rf"\mathrm{{{symbol}}}"


def _loss(w: Writer) -> Iterator[Block]:
    r, v = w.r, w.v
    loss = LOSSES[r.loss]
    yield w.h(1, "3. Loss")

    rows = [split_formula(loss.formula)]
    m = str(len(r.output_neurons))
    for k in range(len(r.examples)):
        s = r.suffix(k)
        lhs = "L" + (f"^{{({k + 1})}}" if s else "")
        if loss.term_plain:
            terms = [
                plain_to_tex(loss.term_plain, y=w.s(v[f"y_{n}{s}"]), a=w.s(v[f"a_{n}{s}"])) for n in r.output_neurons
            ]
            total = terms[0] if len(terms) == 1 else r"\left[" + " + ".join(terms) + r"\right]"
            rows.append((lhs, "= " + plain_to_tex(loss.outer_plain, sum=total, m=m)))
            rows.append(("", rf"{w.eq(v[f'loss{s}'])} {w.n(v[f'loss{s}'])}"))
        else:
            rows.append((lhs, rf"{w.eq(v[f'loss{s}'])} {w.n(v[f'loss{s}'])}"))
    n = len(r.examples)
    if n > 1:
        parts = " + ".join(w.s(v[f"loss#{k + 1}"]) for k in range(n))
        scale = rf"\frac{{1}}{{{n}}}\left({parts}\right)" if r.reduction == "mean" else parts
        rows.append(("L", rf"= {scale} {w.eq(v['loss'])} {w.n(v['loss'])}"))
    yield Equations(tuple(rows))


def _summary(steps: int) -> Iterator[Block]:
    yield Heading(2, "Summary")
    yield Bullets(
        (
            (Strong("Forward pass:"), " each layer's weighted sums and activations give the prediction."),
            (Strong("Loss:"), " compares the prediction with the target."),
            (
                Strong("Backward pass:"),
                " the chain rule carries the loss's gradient back, factor by factor, to every weight and bias.",
            ),
            (Strong("Update:"), " every parameter steps against its gradient, scaled by the learning rate."),
        )
    )
    yield Para(
        (
            "Training repeats this for every example, epoch after epoch, until the loss stops falling."
            if steps == 1
            else "Training goes on like this, update after update, until the loss stops falling.",
        )
    )
