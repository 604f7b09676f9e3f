"""The worked example's story, told once as document blocks (doc.py) for every document format.

The order and content follow the reference worked example and the terminal view: architecture,
initial values, forward pass per layer, loss, every gradient as its chain of factors, updates,
summary. Every number is read from the record; nothing is differentiated here.
"""

from __future__ import annotations

from collections.abc import Iterator

from chainrule.engine.functions import ACTIVATIONS, LOSSES
from chainrule.record.step import StepRecord
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
    num,
    snum,
    tex_name,
    tex_words,
)
from chainrule.views.numbers import DEFAULT_DIGITS, Names


class Writer:
    """One record, its names and how many digits to show."""

    def __init__(self, record: StepRecord, digits: int, level: int = 1) -> None:
        self.r = record
        self.d = digits
        self.v = record.values
        self.names = Names(record)
        self.level = level  # the level of this step's title
        # In hand mode a computed figure is written with all its decimals (0.0150); a given one
        # (input, parameter, target, learning rate) as it was given (0.05).
        given = [*(self.v[x + record.suffix(k)] for k in range(len(record.examples)) for x in record.inputs)]
        given += [u.old for u in record.updates] + [record.learning_rate]
        given += [
            self.v[f"y_{n}{record.suffix(k)}"] for k in range(len(record.examples)) for n in record.output_neurons
        ]
        self.given = set(given)

    def _pad(self, x: float) -> bool:
        return self.r.hand is not None and x not in self.given

    def n(self, x: float) -> str:
        return num(x, self.d, self._pad(x))

    def s(self, x: float) -> str:
        return snum(x, self.d, self._pad(x))

    def t(self, name: str) -> str:
        return tex_name(name, self.names)

    def m(self, name: str) -> Math:
        return Math(self.t(name))

    def h(self, depth: int, text: str) -> Heading:
        return Heading(self.level + depth, text)

    def eq(self, x: float) -> str:
        """The relation before a result: = where the number shown is exactly x, ≈ where it is rounded."""
        if self.r.hand is not None:
            return r"\approx"  # a written figure is the rounding of what the calculator showed
        try:
            exact = abs(float(self.n(x).replace("−", "-")) - x) <= 1e-12 * max(1.0, abs(x))
        except ValueError:
            exact = False
        return "=" if exact else r"\approx"


def story(
    records: list[StepRecord],
    digits: int = DEFAULT_DIGITS,
    only: str | None = None,
    figures: bool = True,
) -> list[Block]:
    """The whole document: one step, or several one after another (each under its own heading)."""
    from chainrule.views.story_backward import backward

    blocks: list[Block] = []
    first = records[0]
    blocks.append(Heading(1, first.title or "A worked backpropagation step"))
    blocks += list(_intro(first, digits, len(records)))
    for i, record in enumerate(records):
        level = 1
        if len(records) > 1:
            level = 2
            n = ", ".join(str(e + 1) for e in record.examples)
            blocks.append(Heading(2, f"Step {i + 1} (example{'s' if len(record.examples) > 1 else ''} {n})"))
        w = Writer(record, digits, level)
        if i == 0:
            blocks += list(_architecture(w))
        if figures:
            from chainrule.views.svg import network_svg

            blocks.append(
                Figure(
                    f"network-step{i + 1}",
                    network_svg(record, digits),
                    "The network before the update: activations on the neurons, weights on the edges.",
                )
            )
        blocks += list(_initial(w))
        blocks += list(_forward(w))
        blocks += list(_loss(w))
        blocks += list(backward(w, only))
        blocks += list(_update(w, only))
        if figures:
            from chainrule.views.svg import network_svg

            blocks.append(
                Figure(
                    f"gradients-step{i + 1}",
                    network_svg(record, digits, gradients=True),
                    "The same network with its gradients: ∂L/∂w on the edges, δ = ∂L/∂z on the neurons.",
                )
            )
        if record.hand is not None:
            from chainrule.views.story_hand import hand_table

            blocks += list(hand_table(w))
    blocks += list(_summary(len(records)))
    return blocks


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
            shown = ", ".join(_neuron(w, n) for n in layer.neurons)
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
    yield Equations(tuple(_split(ACTIVATIONS[a].formula) for a in acts))
    loss = LOSSES[r.loss]
    yield Para((f"Loss: {loss.name.replace('_', ' ')}, {loss.description}:",))
    yield Equations((_split(loss.formula),))
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


def _split(formula: str) -> tuple[str, str]:
    """A registry formula `f(z) = ...` as (lhs, rhs) for aligned display."""
    lhs, sep, rhs = formula.partition("=")
    return (lhs.strip(), "= " + rhs.strip()) if sep else (formula, "")


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
                f"{w.t(src.removeprefix('a_')) if src in r.inputs else _neuron(w, src)} \\rightarrow {_neuron(w, 'a_' + ns.neuron)}"
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


def _neuron(w: Writer, a_name: str) -> str:
    """A neuron by its name in words (h1, out), for 'x1 → h1'."""
    n = a_name.removeprefix("a_")
    if n in w.r.inputs:
        return w.t(n)
    return tex_words(n)


def _forward(w: Writer) -> Iterator[Block]:
    r, v = w.r, w.v
    yield w.h(1, "2. Forward pass")
    yield Para(
        (
            "Each neuron adds up its weighted inputs and its bias, ",
            Math(r"z = \sum_i w_i a_i + b"),
            ", then applies its activation, ",
            Math("a = f(z)"),
            ".",
        )
    )
    for k in range(len(r.examples)):
        s = r.suffix(k)
        if s:
            yield Para((Strong(f"Example {r.examples[k] + 1}"), " (values marked ", Math(f"^{{({k + 1})}}"), ")"))
        for layer in r.layers:
            yield w.h(2, f"Layer {layer.name}")
            rows = []
            for ns in (x for x in r.sums if x.layer == layer.name):
                names = [f"{w.t(src + s)} \\, {w.t(wt)}" for wt, src in ns.terms]
                nums = [rf"{w.s(v[src + s])} \cdot {w.s(v[wt])}" for wt, src in ns.terms]
                if ns.bias:
                    names.append(w.t(ns.bias))
                    nums.append(w.s(v[ns.bias]))
                z = w.t(f"z_{ns.neuron}{s}")
                rows.append((z, "= " + " + ".join(names)))
                rows.append(("", "= " + " + ".join(nums)))
                rows.append(("", rf"{w.eq(v[f'z_{ns.neuron}{s}'])} {w.n(v[f'z_{ns.neuron}{s}'])}"))
            act = ACTIVATIONS[layer.activation]
            for n in layer.neurons:
                a, z = w.t(f"a_{n}{s}"), w.t(f"z_{n}{s}")
                if act.elementwise:
                    f = _fname(act.symbol)
                    rows.append(
                        (a, rf"= {f}({z}) = {f}({w.n(v[f'z_{n}{s}'])}) {w.eq(v[f'a_{n}{s}'])} {w.n(v[f'a_{n}{s}'])}")
                    )
                else:
                    rows.append(
                        (a, rf"= \mathrm{{softmax}}(z)_{{{tex_words(n)}}} {w.eq(v[f'a_{n}{s}'])} {w.n(v[f'a_{n}{s}'])}")
                    )
            yield Equations(tuple(rows))
    if w.names.single:
        out = "a_" + w.names.out
        for k in range(len(r.examples)):
            s = r.suffix(k)
            yield Para((Strong("Prediction:"), " ", Math(rf"{w.t(out + s)} \approx {w.n(v[out + s])}")))


def _fname(symbol: str) -> str:
    return r"\sigma" if symbol == "σ" else rf"\mathrm{{{symbol}}}"


def _loss(w: Writer) -> Iterator[Block]:
    r, v = w.r, w.v
    loss = LOSSES[r.loss]
    yield w.h(1, "3. Loss")
    from chainrule.views.doc import plain_to_tex

    rows = [_split(loss.formula)]
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


def _update(w: Writer, only: str | None) -> Iterator[Block]:
    r, v = w.r, w.v
    yield w.h(1, "5. Update")
    yield Para(
        (
            "Gradient descent moves every parameter a small step against its gradient, all with the gradients computed before this update:",
        )
    )
    eta = w.n(r.learning_rate)
    yield Equations(
        ((r"\theta_{\text{new}}", r"= \theta - \eta \, \frac{\partial L}{\partial \theta}, \quad \eta = " + eta),)
    )
    rows, table = [], []
    for u in r.updates:
        if only and u.param != only:
            continue
        new = w.t(u.param) + r"_{\text{new}}" if "_" not in w.t(u.param) else f"{w.t(u.param)}^{{\\text{{new}}}}"
        if u.frozen:
            rows.append((new, rf"= {w.n(u.old)} \quad \text{{(frozen)}}"))
        elif r.hand is not None and f"eta*dL/d{u.param}" in v:
            rows.append(
                (
                    new,
                    rf"= {w.s(u.old)} - {eta} \cdot {w.s(u.gradient)} = {w.s(u.old)} - {w.s(v[f'eta*dL/d{u.param}'])} {w.eq(u.new)} {w.n(u.new)}",
                )
            )
        else:
            # η·∂L/∂θ is written out, as a person does before subtracting (0.35 − 0.0142 = 0.3358).
            step = w.s(r.learning_rate * u.gradient)
            rows.append(
                (
                    new,
                    rf"= {w.s(u.old)} - {eta} \cdot {w.s(u.gradient)} = {w.s(u.old)} - {step} {w.eq(u.new)} {w.n(u.new)}",
                )
            )
        table.append(
            ((w.m(u.param),), (w.n(u.old),), (w.n(u.gradient),), (w.n(u.new) + (" (frozen)" if u.frozen else ""),))
        )
    yield Equations(tuple(rows))
    yield Table(("parameter", "old value", "gradient", "new value"), tuple(table), (False, True, True, True))


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
