"""The terminal view: the worked example as a textbook tells it, rendered with rich.

A function from a step record to rich renderables; no number is computed here, every one is
read from the record.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from chainrule.engine.functions import ACTIVATIONS, LOSSES
from chainrule.record.step import Chain, Factor, Path, StepRecord
from chainrule.views.numbers import DEFAULT_DIGITS, Names, fmt, fmt_change, signed

MAX_FACTOR_NOTES = 200  # beyond this, a huge network's story is cut with a note


class Writer:
    """A record and how to write its numbers and names (shared with the page's stepper)."""

    def __init__(self, record: StepRecord, digits: int) -> None:
        self.r = record
        self.d = digits
        self.names = Names(record)
        self.v = record.values

    def n(self, x: float) -> str:
        return fmt(x, self.d)

    def s(self, x: float) -> str:
        return signed(x, self.d)

    def show(self, name: str) -> str:
        return self.names.show(name)


def render(record: StepRecord, digits: int = DEFAULT_DIGITS, only: str | None = None) -> RenderableType:
    """The whole explanation of one step, as one rich renderable."""
    w = Writer(record, digits)
    parts: list[RenderableType] = []
    title = record.title or "A worked backpropagation step"
    parts.append(Rule(Text(title, style="bold"), style="cyan"))
    parts += list(_architecture(w))
    parts += list(_initial(w))
    parts += list(_forward(w))
    parts += list(loss_story(w))
    parts += list(_backward(w, only))
    parts += list(_update(w, only))
    if record.hand is not None:
        parts += list(_hand(w))
    return Group(*parts)


def _heading(text: str) -> Rule:
    return Rule(Text(text, style="bold cyan"), align="left", style="cyan")


def _architecture(w: Writer) -> Iterator[RenderableType]:
    r = w.r
    yield _heading("Network")
    lines = [f"Inputs: {', '.join(r.inputs)}"]
    for i, layer in enumerate(r.layers):
        act = ACTIVATIONS[layer.activation]
        kind = "Output layer" if i == len(r.layers) - 1 else "Hidden layer"
        neurons = ", ".join(layer.neurons)
        if layer.bias_mode == "shared":
            bias = (
                f"bias {layer.bias_names[0]} shared by all {len(layer.neurons)} neurons"
                if len(layer.neurons) > 1
                else f"bias {layer.bias_names[0]}"
            )
        elif layer.bias_mode == "neuron":
            bias = "one bias per neuron (" + ", ".join(layer.bias_names) + ")"
        else:
            bias = "no bias"
        alpha = ""
        if layer.alpha is not None:
            alpha = f", α = {w.n(layer.alpha)}" + (f" (learned: {layer.alpha_name})" if layer.alpha_name else "")
        lines.append(
            f"{kind} {layer.name}: {len(layer.neurons)} neuron{'s' if len(layer.neurons) > 1 else ''} ({neurons}), {act.name}{alpha}, {bias}"
        )
    if w.names.single:
        lines.append(f"Prediction: ŷ = a_{w.names.out}")
    lines.append("Activations: " + "; ".join(sorted({ACTIVATIONS[layer.activation].plain for layer in r.layers})))
    loss = LOSSES[r.loss]
    lines.append(f"Loss: {loss.name}, {loss.plain}")
    batch = {"online": "online (one example per update)", "full": "full batch"}.get(
        r.batch_kind, f"mini-batches of {r.batch_kind}"
    )
    lines.append(f"Training: learning rate η = {w.n(r.learning_rate)}, {batch}, {r.reduction} over a batch")
    if len(r.examples) == 1:
        lines.append(f"This step: example {r.examples[0] + 1}")
    else:
        lines.append(f"This step: examples {', '.join(str(i + 1) for i in r.examples)} (per-example values carry #k)")
    yield Text("\n".join(lines))


def _initial(w: Writer) -> Iterator[RenderableType]:
    r = w.r
    yield _heading("1. Initial values")
    t = Table(show_edge=False, box=None, pad_edge=False)
    t.add_column("name")
    t.add_column("value", justify="right")
    t.add_column("what it is")
    for k in range(len(r.examples)):
        s = r.suffix(k)
        for x in r.inputs:
            t.add_row(w.show(x + s), w.n(w.v[x + s]), "input")
    for ns in r.sums:
        for weight, src in ns.terms:
            t.add_row(weight, w.n(w.v[weight]), f"weight {w.show(src).removeprefix('a_')} → {ns.neuron}")
    for layer in r.layers:
        for b in layer.bias_names:
            what = f"bias of layer {layer.name}" if layer.bias_mode == "shared" else f"bias of {b.removeprefix('b_')}"
            t.add_row(b, w.n(w.v[b]), what)
        if layer.alpha_name:
            t.add_row(layer.alpha_name, w.n(w.v[layer.alpha_name]), f"PReLU slope of layer {layer.name}")
    for k in range(len(r.examples)):
        s = r.suffix(k)
        for n in r.output_neurons:
            t.add_row(w.show(f"y_{n}{s}"), w.n(w.v[f"y_{n}{s}"]), "target")
    yield t


def _forward(w: Writer) -> Iterator[RenderableType]:
    r = w.r
    yield _heading("2. Forward pass")
    for k in range(len(r.examples)):
        s = r.suffix(k)
        if s:
            yield Text(f"Example {r.examples[k] + 1} ({s}):", style="bold")
        current = ""
        lines: list[str] = []
        for ns in r.sums:
            if ns.layer != current:
                if lines:
                    yield Text("\n".join(lines))
                    lines = []
                current = ns.layer
                yield Text(f"Layer {ns.layer}:", style="italic")
            names = [f"{w.show(src)}·{wt}" for wt, src in ns.terms]
            nums = [f"{w.s(w.v[src + s])}·{w.s(w.v[wt])}" for wt, src in ns.terms]
            if ns.bias:
                names.append(ns.bias)
                nums.append(w.s(w.v[ns.bias]))
            z = f"z_{ns.neuron}"
            lines.append(f"  {z} = {' + '.join(names)} = {' + '.join(nums)} = {w.n(w.v[z + s])}")
        if lines:
            yield Text("\n".join(lines))
        act_lines = []
        for layer in r.layers:
            act = ACTIVATIONS[layer.activation]
            for n in layer.neurons:
                a = w.show(f"a_{n}")
                if act.elementwise:
                    act_lines.append(
                        f"  {a} = {act.symbol}(z_{n}) = {act.symbol}({w.n(w.v[f'z_{n}{s}'])}) = {w.n(w.v[f'a_{n}{s}'])}"
                    )
                else:
                    act_lines.append(f"  {a} = softmax(z_{layer.name})_{n} = {w.n(w.v[f'a_{n}{s}'])}")
        yield Text("Activations:", style="italic")
        yield Text("\n".join(act_lines))


def loss_story(w: Writer) -> Iterator[RenderableType]:
    r = w.r
    loss = LOSSES[r.loss]
    yield _heading("3. Loss")
    lines = [loss.plain]
    for k in range(len(r.examples)):
        s = r.suffix(k)
        key = f"loss{s}"
        if loss.term_plain:
            terms = [loss.term_plain.format(y=w.s(w.v[f"y_{n}{s}"]), a=w.s(w.v[f"a_{n}{s}"])) for n in r.output_neurons]
            total = terms[0] if len(terms) == 1 else "[" + " + ".join(terms) + "]"
            expr = loss.outer_plain.format(sum=total, m=len(r.output_neurons))
            lines.append(f"{'L' + s} = {expr} = {w.n(w.v[key])}")
        else:
            lines.append(f"{'L' + s} = {w.n(w.v[key])}")
    if len(r.examples) > 1:
        parts = " + ".join(w.s(w.v[f"loss#{k + 1}"]) for k in range(len(r.examples)))
        if r.reduction == "mean":
            lines.append(f"L = (1/{len(r.examples)}) · ({parts}) = {w.n(w.v['loss'])}  (mean over the batch)")
        else:
            lines.append(f"L = {parts} = {w.n(w.v['loss'])}  (sum over the batch)")
    yield Text("\n".join(lines))


def parameter_order(r: StepRecord) -> list[str]:
    """Parameters from the output layer down, as a worked example takes them."""
    order: list[str] = []
    by_layer: dict[str, list[str]] = {}
    for ns in r.sums:
        by_layer.setdefault(ns.layer, []).extend(wt for wt, _ in ns.terms)
    for layer in reversed(r.layers):
        order += by_layer[layer.name] + list(layer.bias_names) + ([layer.alpha_name] if layer.alpha_name else [])
    return order


def _backward(w: Writer, only: str | None) -> Iterator[RenderableType]:
    r = w.r
    yield _heading("4. Backward pass")
    delta_form = any(c.form == "delta" for chains in r.chains.values() for c in chains)
    if delta_form:
        yield Text(
            "Writing every path from the loss to every parameter would repeat itself, so each neuron's "
            "δ = ∂L/∂z is worked out once, from the output down, and reused: δ_j = f′(z_j) · Σ_k w_kj δ_k, "
            "and ∂L/∂w = δ (receiving) · a (sending)."
        )
        yield from delta_story(w)
    explained: set[tuple[str, str]] = set()
    for param in parameter_order(r):
        if only and param != only:
            continue
        yield from gradient_story(w, param, r.chains[param], explained)


def _factor_note(w: Writer, f: Factor, k: int) -> str | None:
    """Why one local derivative has the value it has, with its numbers."""
    r = w.r
    s = r.suffix(k)
    part = w.names.partial(f.num, f.den)
    if f.kind == "loss":
        n = f.den.removeprefix("a_")
        loss = LOSSES[r.loss]
        expr = loss.gradient_plain.format(a=w.show(f.den), y=w.show(f"y_{n}"), m=len(r.output_neurons))
        nums = loss.gradient_plain.format(a=w.s(w.v[f"{f.den}{s}"]), y=w.s(w.v[f"y_{n}{s}"]), m=len(r.output_neurons))
        scale = ""
        if r.reduction == "mean" and len(r.examples) > 1:
            scale = f"  (× 1/{len(r.examples)} for the mean over the batch)"
        return f"{part} = {expr} = {nums} = {w.n(f.value)}{scale}"
    if f.kind == "activation":
        layer = next(la for la in r.layers if f.num.removeprefix("a_") in la.neurons)
        act = ACTIVATIONS[layer.activation]
        a, z = w.show(f.num), w.show(f.den)
        expr = act.derivative_plain.format(a=a, z=z)
        text = f"{part} = {expr}"
        if act.derivative_parts and f.parts:
            text += " = " + act.derivative_parts_plain.format(*(w.s(p) for p in f.parts))
        else:
            text += f" at {z} = {w.n(w.v[f.den + s])}"
        text += f" = {w.n(f.value)}"
        if act.name == "binary_step":
            text += "  — the step is flat, so no gradient passes: backpropagation cannot learn through it"
        return text
    if f.kind == "weight":
        return f"{part} = {f.source} = {w.n(f.value)}  (z_{f.num[2:]} contains {f.source}·{w.show(f.den)})"
    if f.kind == "input":
        return f"{part} = {w.show(f.source)} = {w.n(f.value)}  ({f.num} contains {w.show(f.source)}·{f.den})"
    if f.kind == "one":
        return f"{part} = 1  ({f.den} is added directly to {f.num})"
    if f.kind == "alpha":
        return f"{part} = {f.source} if it is ≤ 0, else 0 = {w.n(f.value)}"
    if f.kind == "fused":
        return f"{part} = ŷ − y = {w.n(f.value)}  ({LOSSES[r.loss].name} with {ACTIVATIONS[r.layers[-1].activation].name}: the two derivatives simplify together)"
    if f.kind == "softmax":
        return f"{part} = Σ_m ∂L/∂a_m · a_m(δ_m{f.den[2:]} − a_{f.den[2:]}) = {w.n(f.value)}  (softmax's full Jacobian)"
    return None


def _product(w: Writer, path: Path) -> str:
    return " · ".join(w.s(f.value) for f in path.factors)


def _symbols(w: Writer, path: Path) -> str:
    return " · ".join(w.names.partial(f.num, f.den) for f in path.factors)


def gradient_story(
    w: Writer, param: str, chains: tuple[Chain, ...], explained: set[tuple[str, str]]
) -> Iterator[RenderableType]:
    yield Text(f"∂L/∂{param}", style="bold")
    if chains and chains[0].form == "delta":
        lines = _delta_gradient(w, param, chains)
    else:
        lines = [line for k, chain in enumerate(chains) for line in _path_gradient(w, param, chain, k, explained)]
    yield Text("\n".join(lines))


def _notes(w: Writer, path: Path, k: int, explained: set[tuple[str, str]], indent: str) -> list[str]:
    """Why each factor has its value, for the factors not explained earlier in the story."""
    lines = []
    for f in path.factors:
        if (f.num, f.den) not in explained:
            note = _factor_note(w, f, k)
            if note:
                lines.append(f"{indent}{note}")
            explained.add((f.num, f.den))
    return lines


def _path_gradient(w: Writer, param: str, chain: Chain, k: int, explained: set[tuple[str, str]]) -> list[str]:
    """∂L/∂θ path by path: the chain in symbols, each new factor's reason, the product."""
    if len(chain.paths) == 1:
        path = chain.paths[0]
        lines = [f"  ∂L/∂{param} = {_symbols(w, path)}", *_notes(w, path, k, explained, "    ")]
        lines.append(f"  ∂L/∂{param} = {_product(w, path)} = {w.n(path.value)}")
        if len(path.factors) > 3:
            steps = " → ".join(
                f"· {w.s(f.value)} = {w.n(p)}" if i else f"{w.n(p)}"
                for i, (f, p) in enumerate(zip(path.factors, path.partials, strict=True))
            )
            lines.append(f"    step by step: {steps}")
        return lines
    vias = [p.via or str(i + 1) for i, p in enumerate(chain.paths)]
    lines = [
        f"  {param} reaches the loss along {len(chain.paths)} paths, one through each of "
        + ", ".join(vias)
        + "; their gradients add up:",
        f"  ∂L/∂{param} = " + " + ".join(f"∂L/∂{param}(via {v})" for v in vias),
    ]
    for via, path in zip(vias, chain.paths, strict=True):
        lines.append(f"  ∂L/∂{param}(via {via}) = {_symbols(w, path)}")
        lines += _notes(w, path, k, explained, "      ")
        lines.append(f"      = {_product(w, path)} = {w.n(path.value)}")
    total = " + ".join(w.s(p.value) for p in chain.paths)
    lines.append(f"  ∂L/∂{param}{w.r.suffix(k)} = {total} = {w.n(chain.value)}")
    return lines


def _delta_gradient(w: Writer, param: str, chains: tuple[Chain, ...]) -> list[str]:
    """∂L/∂θ in the delta form: Σ over the batch of δ (receiving) times what θ multiplies."""
    terms = []
    for k, chain in enumerate(chains):
        s = w.r.suffix(k)
        for p in chain.paths:
            delta, last = p.factors[0], p.factors[-1]
            terms.append((f"δ_{delta.den[2:]}{s}", _last_symbol(w, last, s), delta, last))
    sym = " + ".join(f"{d}·{x}" for d, x, _, _ in terms)
    nums = " + ".join(f"{w.s(delta.value)}·{w.s(last.value)}" for _, _, delta, last in terms)
    return [f"  ∂L/∂{param} = {sym}", f"  ∂L/∂{param} = {nums} = {w.n(w.v[f'dL/d{param}'])}"]


def _last_symbol(w: Writer, f: Factor, s: str) -> str:
    if f.kind == "input":
        return w.show(f.source + s)
    if f.kind == "one":
        return "1"
    return f"∂{f.num}/∂{f.den}"


def delta_story(w: Writer) -> Iterator[RenderableType]:
    r = w.r
    n = len(r.examples)
    scale = f"(1/{n})·" if r.reduction == "mean" and n > 1 else ""
    lines: list[str] = []
    for k, deltas in enumerate(r.deltas):
        s = r.suffix(k)
        by_neuron = {d.neuron: d for d in deltas}
        for layer in reversed(r.layers):
            for neuron in layer.neurons:
                d = by_neuron[neuron]
                name = f"δ_{neuron}{s}"
                a, z, y = w.show(f"a_{neuron}"), f"z_{neuron}", w.show(f"y_{neuron}")
                if d.how == "output":
                    lines.append(
                        f"  {name} = ∂L/∂{a} · ∂{a}/∂{z} = {w.s(d.d_a)} · {w.s(d.derivative)} = {w.n(d.value)}"
                    )
                elif d.how == "fused":
                    nums = f"{w.s(w.v[f'a_{neuron}{s}'])} − {w.s(w.v[f'y_{neuron}{s}'])}"
                    note = "" if lines else f"  ({r.loss} with {layer.activation}: their derivatives simplify to ŷ − y)"
                    lines.append(f"  {name} = {scale}({a} − {y}) = {scale}({nums}) = {w.n(d.value)}{note}")
                elif d.how == "softmax":
                    lines.append(
                        f"  {name} = {a}(∂L/∂{a} − Σ_m ∂L/∂a_m · a_m) = {w.n(d.value)}  (softmax's full Jacobian)"
                    )
                else:
                    total = " + ".join(f"{wn}·δ_{m}{s}" for wn, m, _, _ in d.terms)
                    nums = " + ".join(f"{w.s(wv)}·{w.s(dv)}" for _, _, wv, dv in d.terms)
                    lines.append(f"  {name} = f′({z}) · ({total}) = {w.s(d.derivative)} · ({nums}) = {w.n(d.value)}")
    yield Text("\n".join(lines))


def _update(w: Writer, only: str | None) -> Iterator[RenderableType]:
    r = w.r
    yield _heading("5. Update")
    yield Text(
        f"θ_new = θ − η · ∂L/∂θ, with η = {w.n(r.learning_rate)}; every parameter moves by the gradient computed before this update."
    )
    t = Table(box=None, show_edge=False, pad_edge=False)
    for col, just in (
        ("parameter", "left"),
        ("old value", "right"),
        ("gradient", "right"),
        ("new value", "right"),
        ("", "left"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for u in r.updates:
        if only and u.param != only:
            continue
        t.add_row(
            u.param,
            w.n(u.old),
            w.n(u.gradient),
            fmt_change(u.new, u.change, w.d),
            "frozen" if u.frozen else f"= {w.s(u.old)} − {w.n(r.learning_rate)} · {w.s(u.gradient)}",
        )
    yield t


def _hand(w: Writer) -> Iterator[RenderableType]:
    """Hand mode: each written figure beside the exact value, marked where rounding changed its last digit."""
    from chainrule.views.doc import written

    r = w.r
    assert r.hand is not None and r.exact is not None
    yield _heading(f"Rounding by hand ({r.hand} decimals) against the exact values")
    t = Table(box=None, show_edge=False, pad_edge=False)
    for col, just in (
        ("value", "left"),
        ("by hand", "right"),
        ("exact", "right"),
        ("hand − exact", "right"),
        ("", "left"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for name, hand in r.values.items():
        exact = r.exact.get(name)
        if exact is None or abs(hand - exact) <= 1e-12 * max(1.0, abs(exact)):
            continue
        changed = written(hand, r.hand) != written(exact, r.hand)
        t.add_row(
            w.show(name),
            written(hand, r.hand),
            fmt(exact, r.hand + 4),
            fmt(hand - exact, 2),
            "last digit changed" if changed else "",
        )
    yield t
