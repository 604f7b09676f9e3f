"""The page's stepper: one step record cut into steps (a neuron, the loss, a gradient, the update).

Each step names what it involves (neurons and edges to highlight) and its equations, in the same
words and numbers as `chainrule explain` (the backward lines come from views.text itself), as
MathML. A view of the record: nothing here computes a number, every one is read and formatted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from chainrule.engine.functions import ACTIVATIONS, LOSSES
from chainrule.record.step import StepRecord
from chainrule.views import text as text_view
from chainrule.views.numbers import fmt
from chainrule.web.mathml import equation

MAX_TERMS = 8  # a weighted sum longer than this is shortened to its first and last terms
MAX_STEPS = 400
MAX_DELTA_LINES = 60  # past this the stepper stops with a note: a huge network is not read step by step


def _line(text: str) -> dict[str, str]:
    """An equation (anything with ' = ') as MathML; a sentence as a sentence."""
    if " = " in text:
        return equation(text)
    return {"text": text.strip()}


def _plain(parts: Iterable[RenderableType]) -> list[str]:
    """The text lines of views.text's renderables (its equations), rules and tables left out."""
    return [line for part in parts if isinstance(part, Text) for line in part.plain.splitlines() if line.strip()]


def _neuron(name: str) -> str:
    """The neuron a value belongs to: a_h1, z_h1, dL/da_h1 → h1; x1 → x1."""
    base = name.partition("#")[0]
    for prefix in ("a_", "z_"):
        if base.startswith(prefix):
            return base[len(prefix) :]
    return base


def graph(record: StepRecord) -> dict[str, Any]:
    """Nodes by layer (inputs first) and one edge per weight: what the page draws."""
    layers = [{"name": "inputs", "neurons": list(record.inputs), "activation": ""}]
    layers += [{"name": la.name, "neurons": list(la.neurons), "activation": la.activation} for la in record.layers]
    edges = [{"weight": weight, "from": _neuron(src), "to": s.neuron} for s in record.sums for weight, src in s.terms]
    biases = {s.neuron: s.bias for s in record.sums if s.bias}
    return {"layers": layers, "edges": edges, "biases": biases, "outputs": list(record.output_neurons)}


def _sum(terms: list[str]) -> str:
    """A sum written out, or its first and last terms when it is too long to read on the page."""
    if len(terms) > MAX_TERMS:
        terms = [*terms[:3], "…", terms[-1]]
    return " + ".join(terms)


def _top_level_terms(text: str) -> list[str]:
    """`text` split at the ' + ' that are outside every parenthesis."""
    terms, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        if depth == 0 and text.startswith(" + ", i):
            terms.append(text[start:i])
            start = i + 3
    return [*terms, text[start:]]


def _short(line: str) -> str:
    """A line with each long parenthesised sum shortened, as _sum does (a hidden δ's Σ w·δ)."""
    out, depth, start = [], 0, 0
    for i, c in enumerate(line):
        if c == "(":
            if depth == 0:
                out.append(line[start:i])
                start = i
            depth += 1
        elif c == ")" and depth:
            depth -= 1
            if depth == 0:
                out.append(f"({_sum(_top_level_terms(line[start + 1 : i]))})")
                start = i + 1
    return "".join([*out, line[start:]])


def _forward(w: text_view.Writer) -> Iterator[dict[str, Any]]:
    r = w.r
    for k in range(len(r.examples)):
        s = r.suffix(k)
        for ns in r.sums:
            act = ACTIVATIONS[ns.activation]
            names = [f"{w.show(src)}·{wt}" for wt, src in ns.terms]
            nums = [f"{w.s(w.v[src + s])}·{w.s(w.v[wt])}" for wt, src in ns.terms]
            if ns.bias:
                names.append(ns.bias)
                nums.append(w.s(w.v[ns.bias]))
            n = ns.neuron
            lines = [f"z_{n}{s} = {_sum(names)} = {_sum(nums)} = {w.n(w.v[f'z_{n}{s}'])}"]
            if len(names) > MAX_TERMS:
                lines.append(f"(a sum of {len(names)} terms: the worked example has them all)")
            a = w.show(f"a_{n}") + s
            if act.elementwise:
                lines.append(
                    f"{a} = {act.symbol}(z_{n}) = {act.symbol}({w.n(w.v[f'z_{n}{s}'])}) = {w.n(w.v[f'a_{n}{s}'])}"
                )
            else:
                lines.append(f"{a} = softmax(z_{ns.layer})_{n} = {w.n(w.v[f'a_{n}{s}'])}")
            example = f", example {r.examples[k] + 1}" if s else ""
            yield {
                "phase": "forward",
                "title": f"Forward: neuron {n}{example}",
                "neurons": [n, *(_neuron(src) for _, src in ns.terms)],
                "edges": [wt for wt, _ in ns.terms],
                "lines": [_line(t) for t in lines],
            }


def _loss(w: text_view.Writer) -> dict[str, Any]:
    lines = _plain(text_view.loss_story(w))
    return {
        "phase": "loss",
        "title": f"Loss: {LOSSES[w.r.loss].name}",
        "neurons": list(w.r.output_neurons),
        "edges": [],
        "lines": [_line(t) for t in lines],
    }


def _involved(record: StepRecord, param: str) -> tuple[list[str], list[str]]:
    """The neurons and weights on the paths from the loss down to one parameter."""
    neurons: list[str] = []
    edges: list[str] = [param] if any(param == wt for s in record.sums for wt, _ in s.terms) else []
    for chain in record.chains[param]:
        for path in chain.paths:
            for f in path.factors:
                for name in (f.num, f.den):
                    n = _neuron(name)
                    if n != name.partition("#")[0] or n in record.inputs:
                        neurons.append(n)
                if f.kind == "weight":
                    edges.append(f.source)
                if f.kind == "input":
                    neurons.append(_neuron(f.source))
    return list(dict.fromkeys(neurons)), list(dict.fromkeys(edges))


def _backward(w: text_view.Writer) -> Iterator[dict[str, Any]]:
    r = w.r
    if any(c.form == "delta" for chains in r.chains.values() for c in chains):
        lines = [_short(line) for line in _plain(text_view.delta_story(w))]
        if len(lines) > MAX_DELTA_LINES:
            more = len(lines) - MAX_DELTA_LINES
            lines = [*lines[:MAX_DELTA_LINES], f"… and {more} more: the worked example has them all"]
        yield {
            "phase": "backward",
            "title": "Backward: each neuron's δ = ∂L/∂z, from the output down",
            "neurons": [n for la in r.layers for n in la.neurons],
            "edges": [],
            "lines": [_line(t) for t in lines],
        }
    for param in text_view.parameter_order(r):
        lines = _plain(list(text_view.gradient_story(w, param, r.chains[param], set()))[1:])
        neurons, edges = _involved(r, param)
        yield {
            "phase": "backward",
            "title": f"Backward: ∂L/∂{param}",
            "param": param,
            "neurons": neurons,
            "edges": edges,
            "lines": [_line(t) for t in lines],
        }


def _update(w: text_view.Writer) -> dict[str, Any]:
    r = w.r
    eta = w.n(r.learning_rate)
    lines = [{"text": f"θ_new = θ − η · ∂L/∂θ with η = {eta}: every parameter moves by its gradient from before."}]
    for u in r.updates:
        if u.frozen:
            lines.append({"text": f"{u.param} is frozen: it stays {w.n(u.old)}."})
            continue
        lines.append(
            _line(
                f"{u.param}_new = {u.param} − η · ∂L/∂{u.param} = {w.s(u.old)} − {eta} · {w.s(u.gradient)} = {w.n(u.new)}"
            )
        )
    return {
        "phase": "update",
        "title": "Update: every parameter takes one step down its gradient",
        "neurons": [],
        "edges": [u.param for u in r.updates],
        "lines": lines,
    }


def _all(w: text_view.Writer) -> Iterator[dict[str, Any]]:
    yield from _forward(w)
    yield _loss(w)
    yield from _backward(w)
    yield _update(w)


def step_count(record: StepRecord) -> int:
    """How many steps the whole record has: a neuron per example, the loss, the δs, each gradient, the update."""
    delta = any(c.form == "delta" for chains in record.chains.values() for c in chains)
    return len(record.examples) * len(record.sums) + 1 + int(delta) + len(record.chains) + 1


def steps(record: StepRecord, digits: int = 4) -> list[dict[str, Any]]:
    """The record's steps in the order a worked example takes them, at most MAX_STEPS.

    Steps are written one at a time and the writing stops at the limit, so a large network costs
    no more than a small one here.
    """
    w = text_view.Writer(record, digits)
    total = step_count(record)
    if total <= MAX_STEPS:
        return list(_all(w))
    out = list(islice(_all(w), MAX_STEPS - 1))
    note = "This network is too large to step through here; the worked example (download) has every step."
    out.append(
        {
            "phase": "update",
            "title": f"… and {total - MAX_STEPS + 1} more steps",
            "neurons": [],
            "edges": [],
            "lines": [{"text": note}],
        }
    )
    return out


def drawn(record: StepRecord) -> dict[str, float]:
    """The values the page draws: every one of the batch's first example (#1), none of the rest.

    The others appear, written out, in the steps; leaving them here keeps a large batch's answer small.
    """
    return {name: v for name, v in record.values.items() if name.partition("#")[2] in ("", "1")}


def shown(values: dict[str, float], digits: int = 4) -> dict[str, str]:
    """Values as the page writes them (views.numbers.fmt), by name."""
    return {name: fmt(v, digits) for name, v in values.items()}
