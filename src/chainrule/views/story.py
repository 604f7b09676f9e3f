"""The worked example's story, told once as document blocks (doc.py) for every document format.

The order and content follow the reference worked example and the terminal view: architecture,
initial values, forward pass per layer, loss, every gradient as its chain of factors, updates,
summary. Every number is read from the record; nothing is differentiated here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from chainrule.engine.functions import ACTIVATIONS, LOSSES
from chainrule.record.step import NeuronSum, StepRecord
from chainrule.views.doc import Block, Bullets, Equations, Figure, Heading, Inline, Math, Para, Strong, Table
from chainrule.views.mathtree import Add, Frac, Func, Mul, Node, Num, Op, Paren, Pow, Rel, Seq, Sym, Template, Word
from chainrule.views.numbers import DEFAULT_DIGITS
from chainrule.views.story_backward import backward
from chainrule.views.story_hand import hand_table
from chainrule.views.story_update import update
from chainrule.views.writer import Part, Writer, formula_row, neuron_node


def story(
    records: list[StepRecord],
    digits: int = DEFAULT_DIGITS,
    only: str | None = None,
    figures: bool = True,
    steps: range | None = None,
) -> list[Block]:
    """The whole document: one step, or several one after another (each under its own heading).

    `steps` (indices into `records`) writes only that stretch of the document: the title and the
    introduction with the first step, the summary with the last."""
    return [b for part in parts(records, digits, only, figures, steps=steps) for b in part.blocks]


def parts(
    records: list[StepRecord],
    digits: int = DEFAULT_DIGITS,
    only: str | None = None,
    figures: bool = True,
    max_terms: int | None = None,
    steps: range | None = None,
) -> Iterator[Part]:
    """The story part by part, written lazily: a consumer that stops early pays only for what it read."""
    first = records[0]
    steps = range(len(records)) if steps is None else steps
    if steps.start == 0:
        yield Part("title", (Heading(1, first.title or "A worked backpropagation step"),))
        yield Part("intro", tuple(_intro(first, digits, len(records))))
    for i in steps:
        record = records[i]
        level = 1
        if len(records) > 1:
            level = 2
            n = ", ".join(str(e + 1) for e in record.examples)
            yield Part("step", (Heading(2, f"Step {i + 1} (example{'s' if len(record.examples) > 1 else ''} {n})"),))
        w = Writer(record, digits, level, max_terms)
        if i == 0:
            yield Part("architecture", tuple(_architecture(w)))
        if figures:
            yield _figure_before(record, digits, i)
        yield Part("initial", tuple(_initial(w)))
        yield from _forward(w)
        yield Part("loss", tuple(_loss(w)))
        yield from backward(w, only)
        yield Part("update", tuple(update(w, only)))
        if figures:
            yield from _figures_after(record, digits, i)
        if record.hand is not None:
            yield Part("hand", tuple(hand_table(w)))
    if steps.stop == len(records):
        yield Part("summary", tuple(_summary(len(records))))


# The figures' modules are imported only for a document that draws them (not the terminal's story).
def _figure_before(record: StepRecord, digits: int, i: int) -> Part:
    from chainrule.views.svg import network_svg

    caption = "The network before the update: activations on the neurons, weights on the edges."
    return Part("figure", (Figure(f"network-step{i + 1}", network_svg(record, digits), caption),))


def _figures_after(record: StepRecord, digits: int, i: int) -> Iterator[Part]:
    from chainrule.views.opgraph_svg import GRAPH_CAPTION, opgraph_svg
    from chainrule.views.svg import network_svg

    caption = "The same network with its gradients: ∂L/∂w on the edges, δ = ∂L/∂z on the neurons."
    svg = network_svg(record, digits, gradients=True)
    yield Part("figure", (Figure(f"gradients-step{i + 1}", svg, caption),))
    # The same step as a computational graph of scalar operations (opgraph_svg.py).
    yield Part("figure", (Figure(f"graph-step{i + 1}", opgraph_svg(record, digits), GRAPH_CAPTION),))


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
    inputs = Rel(("→", Seq(tuple(w.name(x) for x in r.inputs))))
    count = len(r.inputs)
    items: list[tuple[Inline, ...]] = [
        (Strong("Input layer:"), f" {count} neuron{'s' if count > 1 else ''} ", Math(inputs))
    ]
    for i, layer in enumerate(r.layers):
        kind = "Output layer" if i == len(r.layers) - 1 else f"Hidden layer {layer.name}"
        shown: Node
        if w.names.single and i == len(r.layers) - 1:
            shown = Sym("y", hat=True)
        else:
            shown = Seq(tuple(neuron_node(w, n) for n in layer.neurons))
        if layer.bias_mode == "shared":
            bias: Inline = w.math(layer.bias_names[0])
            bias_words = " shared by its neurons" if len(layer.neurons) > 1 else ""
        elif layer.bias_mode == "neuron":
            bias = Math(Seq(tuple(w.name(b) for b in layer.bias_names)))
            bias_words = ", one per neuron"
        else:
            bias, bias_words = "none", ""
        act = ACTIVATIONS[layer.activation]
        count = len(layer.neurons)
        items.append(
            (
                Strong(f"{kind}:"),
                f" {count} neuron{'s' if count > 1 else ''} ",
                Math(Rel(("→", shown))),
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
    yield Equations(tuple(formula_row(ACTIVATIONS[a].formula, ACTIVATIONS[a].plain) for a in acts))
    loss = LOSSES[r.loss]
    yield Para((f"Loss: {loss.name.replace('_', ' ')}, {loss.description}:",))
    yield Equations((formula_row(loss.formula, loss.plain),))
    batch = {"online": "one example per update (online)", "full": "the full batch per update"}.get(
        r.batch_kind, f"mini-batches of {r.batch_kind}"
    )
    yield Para(
        (
            "Training: learning rate ",
            Math(Rel((Sym("η"), "=", w.num(r.learning_rate)))),
            f", {batch}, {r.reduction} of the example losses over a batch.",
        )
    )


def _initial(w: Writer) -> Iterator[Block]:
    r, v = w.r, w.v
    yield w.h(1, "1. Initial values")
    rows: list[tuple[tuple[Inline, ...], ...]] = []
    for k in range(len(r.examples)):
        s = r.suffix(k)
        rows += [((w.math(x + s),), (Math(w.num(v[x + s])),), ("input",)) for x in r.inputs]
    for ns in r.sums:
        for weight, src in ns.terms:
            start = w.name(src.removeprefix("a_")) if src in r.inputs else neuron_node(w, src)
            what = Math(Rel((start, "→", neuron_node(w, "a_" + ns.neuron))))
            rows.append(((w.math(weight),), (Math(w.num(v[weight])),), ("weight ", what)))
    for layer in r.layers:
        for j, b in enumerate(layer.bias_names):
            # A bias of one neuron is named for its neuron, whatever the file calls the bias.
            words = f"bias of layer {layer.name}" if layer.bias_mode == "shared" else f"bias of {layer.neurons[j]}"
            rows.append(((w.math(b),), (Math(w.num(v[b])),), (words,)))
        if layer.alpha_name:
            rows.append(
                (
                    (w.math(layer.alpha_name),),
                    (Math(w.num(v[layer.alpha_name])),),
                    (f"PReLU slope of layer {layer.name}",),
                )
            )
    for k in range(len(r.examples)):
        s = r.suffix(k)
        rows += [((w.math(f"y_{n}{s}"),), (Math(w.num(v[f"y_{n}{s}"])),), ("target",)) for n in r.output_neurons]
    yield Table(("name", "value", "what it is"), tuple(rows), (False, True, False))


def _forward(w: Writer) -> Iterator[Part]:
    """Each neuron's sum and activation in turn; a softmax layer's activations after all its sums."""
    r = w.r
    z_sum = Rel(
        (
            Sym("z"),
            "=",
            Add((Mul((Sym("Σ", Word("i")), Sym("w", Word("i")), Sym("a", Word("i"))), dot=False), Sym("b")), ("", "+")),
        )
    )
    intro = Para(
        (
            "Each neuron adds up its weighted inputs and its bias, ",
            Math(z_sum),
            ", then applies its activation, ",
            Math(Rel((Sym("a"), "=", Func("f", Sym("z"))))),
            ".",
        )
    )
    yield Part("forward-intro", (w.h(1, "2. Forward pass"), intro))
    for k in range(len(r.examples)):
        s = r.suffix(k)
        if s:
            mark = Math(Sym("", None, Paren(Word(str(k + 1)))))
            note = Para((Strong(f"Example {r.examples[k] + 1}"), " (values marked ", mark, ")"))
            yield Part("example", (note,), example=k)
        for layer in r.layers:
            yield Part("layer", (w.h(2, f"Layer {layer.name}"),), layer.name, k)
            act = ACTIVATIONS[layer.activation]
            for ns in (x for x in r.sums if x.layer == layer.name):
                rows = _sum_rows(w, ns, s)
                if act.elementwise:
                    rows.append(_activation_row(w, ns.neuron, act.symbol, s))
                yield Part("forward", (Equations(tuple(rows)), *_other_side(w, f"z_{ns.neuron}{s}")), ns.neuron, k)
            if not act.elementwise:
                rows = [_softmax_row(w, layer.name, layer.neurons, n, s) for n in layer.neurons]
                yield Part("softmax", (Equations(tuple(rows)),), layer.name, k)
    if w.names.single:
        out = "a_" + w.names.out
        for k in range(len(r.examples)):
            s = r.suffix(k)
            shown = Math(Rel((w.name(out + s), w.rel(w.v[out + s]), w.num(w.v[out + s]))))
            yield Part("prediction", (Para((Strong("Prediction:"), " ", shown)),))


Row = tuple[Node | str, Node | str]


def _sum_rows(w: Writer, ns: NeuronSum, s: str) -> list[Row]:
    """z = Σ a·w + b in names, in numbers, and its value."""
    v = w.v
    nums: list[Node] = [Mul((w.sn(v[src + s]), w.sn(v[wt]))) for wt, src in ns.terms]
    printed = sum(w.product(v[src + s], v[wt]) for wt, src in ns.terms)
    if ns.bias:
        nums.append(w.sn(v[ns.bias]))
        printed += w.value(v[ns.bias])
    z = f"z_{ns.neuron}{s}"
    return [
        (w.name(z), w.once(("sum", ns.terms, ns.bias, s), lambda: Rel(("=", w.terms(_sum_names(w, ns, s)))))),
        ("", Rel(("=", w.terms(nums)))),
        ("", Rel(w.res(v[z], printed))),
    ]


def _sum_names(w: Writer, ns: NeuronSum, s: str) -> list[Node]:
    names: list[Node] = [Mul((w.name(src + s), w.name(wt)), dot=False) for wt, src in ns.terms]
    return [*names, w.name(ns.bias)] if ns.bias else names


def _other_side(w: Writer, z: str) -> tuple[Para, ...]:
    """One line where float64 training's z lies across a kink from the exact z the step works."""
    if z not in w.r.other_side:
        return ()
    side = "above" if w.r.other_side[z] > 0 else "below"
    shown = Math(Rel((w.name(z), "=", w.num(w.v[z]))))
    return (
        Para(
            (
                "Training in float64 gets this sum a rounding error ",
                side,
                " 0, across the kink, and takes the slope on that side; this step works the exact sum, ",
                shown,
                ".",
            )
        ),
    )


def _activation_row(w: Writer, n: str, symbol: str, s: str) -> Row:
    v = w.v
    a, z = f"a_{n}{s}", f"z_{n}{s}"
    f = "σ" if symbol == "σ" else symbol
    return (w.name(a), Rel(("=", Func(f, w.name(z)), "=", Func(f, w.num(v[z])), w.rel(v[a]), w.num(v[a]))))


def _softmax_row(w: Writer, layer: str, neurons: tuple[str, ...], n: str, s: str) -> Row:
    """a_n = e^{z_n} / Σ_m e^{z_m}, with every z of the layer written in, then the exponentials' quotient."""
    v, e = w.v, w.r.exponentials

    def frac(z: Callable[[str], Node]) -> Frac:
        return Frac(Pow(Op("e"), z(n)), w.terms([Pow(Op("e"), z(m)) for m in neurons]))

    sym = frac(lambda m: w.name(f"z_{m}{s}"))
    nums = frac(lambda m: w.num(v[f"z_{m}{s}"]))
    a = f"a_{n}{s}"
    total = f"Σ_{layer}{s}"
    if w.hand or total not in e:  # by hand, or where e^z overflows: the quotient in z alone
        return (w.name(a), Rel(("=", sym, "=", nums, w.rel(v[a]), w.num(v[a]))))
    exps = w.terms([w.num(e[f"z_{m}{s}"]) for m in neurons])
    top = w.num(e[f"z_{n}{s}"])
    printed = w.value(e[f"z_{n}{s}"]) / w.value(e[total]) if w.value(e[total]) else None
    steps = ("=", sym, "=", nums, "=", Frac(top, exps), "=", Frac(top, w.num(e[total])))
    return (w.name(a), Rel(steps + w.res(v[a], printed)))


def _loss(w: Writer) -> Iterator[Block]:
    r, v = w.r, w.v
    loss = LOSSES[r.loss]
    yield w.h(1, "3. Loss")

    rows: list[Row] = [formula_row(loss.formula, loss.plain)]
    m = Num(len(r.output_neurons), str(len(r.output_neurons)))
    for k in range(len(r.examples)):
        s = r.suffix(k)
        lhs = Sym("L", None, Paren(Word(str(k + 1))) if s else None)
        value = v[f"loss{s}"]
        if loss.term_plain:
            terms: list[Node] = [
                Template(loss.term_plain, (("y", w.sn(v[f"y_{n}{s}"])), ("a", w.sn(v[f"a_{n}{s}"]))))
                for n in r.output_neurons
            ]
            total: Node = terms[0] if len(terms) == 1 else Paren(w.terms(terms))
            rows.append((lhs, Rel(("=", Template(loss.outer_plain, (("sum", total), ("m", m)))))))
            rows.append(("", Rel((w.rel(value), w.num(value)))))
        else:
            rows.append((lhs, Rel((w.rel(value), w.num(value)))))
    n = len(r.examples)
    if n > 1:
        parts = w.terms([w.sn(v[f"loss#{k + 1}"]) for k in range(n)])
        scale: Node = (
            Mul((Frac(Num(1, "1"), Num(n, str(n))), Paren(parts)), dot=False) if r.reduction == "mean" else parts
        )
        rows.append((Sym("L"), Rel(("=", scale, w.rel(v["loss"]), w.num(v["loss"])))))
    yield Equations(tuple(rows))
    if n > 1 and r.reduction == "mean":
        yield Para((f"The 1/{n} in front is the mean over the batch's {n} examples (the batch size N = {n}).",))


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
