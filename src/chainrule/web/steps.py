"""The page's stepper: the story's parts (views.story) cut into steps (a neuron, the loss, a gradient, the update).

Each step names what it involves (neurons and edges to highlight) and its lines: the same blocks
`chainrule explain` prints and the documents render, each equation as MathML from its LaTeX
(web.mathml). A view of the record: nothing here computes a number, every one is read and formatted.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from chainrule.engine.functions import ACTIVATIONS, LOSSES
from chainrule.errors import ChainruleError
from chainrule.record.names import split_example, without_example
from chainrule.record.step import StepRecord
from chainrule.views.numbers import fmt_screen
from chainrule.views.story import parts
from chainrule.views.writer import Part
from chainrule.web.mathml import lines

MAX_TERMS = 8  # a weighted sum longer than this is shortened to its first and last terms
MAX_STEPS = 400
MAX_DELTA_LINES = 60  # past this the stepper stops with a note: a huge network is not read step by step


def _neuron(name: str) -> str:
    """The neuron a value belongs to: a_h1, z_h1, dL/da_h1 → h1; x1 → x1."""
    base = without_example(name)
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


def _involved(record: StepRecord, param: str) -> tuple[list[str], list[str]]:
    """The neurons and weights on the paths from the loss down to one parameter."""
    neurons: list[str] = []
    edges: list[str] = [param] if any(param == wt for s in record.sums for wt, _ in s.terms) else []
    for chain in record.chains[param]:
        for path in chain.paths:
            for f in path.factors:
                for name in (f.num, f.den):
                    n = _neuron(name)
                    if n != without_example(name) or n in record.inputs:
                        neurons.append(n)
                if f.kind == "weight":
                    edges.append(f.source)
                if f.kind == "input":
                    neurons.append(_neuron(f.source))
    return list(dict.fromkeys(neurons)), list(dict.fromkeys(edges))


def _step(phase: str, title: str, neurons: list[str], edges: list[str], part: Part) -> Step:
    return {"phase": phase, "title": title, "neurons": neurons, "edges": edges}, part


Step = tuple[dict[str, Any], Part]  # a step's header (what it lights) and the story part its lines come from


def _example(record: StepRecord, part: Part) -> str:
    return f", example {record.examples[part.example] + 1}" if len(record.examples) > 1 else ""


def _forward(record: StepRecord, part: Part) -> Step:
    if part.phase == "softmax":
        layer = next(la for la in record.layers if la.name == part.key)
        title = f"Forward: softmax of layer {part.key}{_example(record, part)}"
        return _step("forward", title, list(layer.neurons), [], part)
    ns = next(s for s in record.sums if s.neuron == part.key)
    neurons = [ns.neuron, *(_neuron(src) for _, src in ns.terms)]
    title = f"Forward: neuron {ns.neuron}{_example(record, part)}"
    return _step("forward", title, neurons, [wt for wt, _ in ns.terms], part)


def _headers(record: StepRecord, digits: int) -> Iterator[Step]:
    """Every step's header with its part, lazily: the lines (MathML, the costly part) are made
    only for the steps read (`written`)."""
    for part in parts([record], digits, None, figures=False, max_terms=MAX_TERMS):
        if part.phase in ("forward", "softmax"):
            yield _forward(record, part)
        elif part.phase == "loss":
            yield _step("loss", f"Loss: {LOSSES[record.loss].name}", list(record.output_neurons), [], part)
        elif part.phase == "deltas":
            neurons = [n for la in record.layers for n in la.neurons]
            yield _step("backward", "Backward: each neuron's δ = ∂L/∂z, from the output down", neurons, [], part)
        elif part.phase == "gradient":
            neurons, edges = _involved(record, part.key)
            header, _ = _step("backward", f"Backward: ∂L/∂{part.key}", neurons, edges, part)
            yield {**header, "param": part.key}, part
        elif part.phase == "update":
            title = "Update: every parameter takes one step down its gradient"
            yield _step("update", title, [], [u.param for u in record.updates], part)


def written(step: Step) -> dict[str, Any]:
    """A step with its lines: the same blocks `chainrule explain` prints, each equation as MathML.
    The δs of a huge network stop after MAX_DELTA_LINES with a note."""
    header, part = step
    shown = lines(part.blocks)
    if part.phase == "deltas" and len(shown) > MAX_DELTA_LINES:
        more = len(shown) - MAX_DELTA_LINES
        shown = [*shown[:MAX_DELTA_LINES], {"text": f"… and {more} more: the worked example has them all"}]
    return {**header, "lines": shown}


def step_count(record: StepRecord) -> int:
    """How many steps the whole record has: a neuron (and a softmax layer) per example, the loss, the δs,
    each gradient, the update."""
    delta = any(c.form == "delta" for chains in record.chains.values() for c in chains)
    softmax = sum(not ACTIVATIONS[la.activation].elementwise for la in record.layers)
    per_example = len(record.sums) + softmax
    return len(record.examples) * per_example + 1 + int(delta) + len(record.chains) + 1


def step_at(record: StepRecord, at: int, digits: int = 4) -> dict[str, Any] | None:
    """Step `at` (1-based) with its lines, None for 0 (the whole network, no step): what the page
    shows, made alone, so that a step costs the same whether the record has ten steps or ten thousand."""
    total = step_count(record)
    if not 0 <= at <= total:
        raise ChainruleError(f"at: expected 0 to {total} (the steps of this update), got {at}")
    if at == 0:
        return None
    return written(next(islice(_headers(record, digits), at - 1, None)))


def steps(record: StepRecord, digits: int = 4) -> list[dict[str, Any]]:
    """The record's steps in the order a worked example takes them, at most MAX_STEPS.

    Steps are written one at a time and the writing stops at the limit, so a large network costs
    no more than a small one here.
    """
    total = step_count(record)
    if total <= MAX_STEPS:
        return [written(step) for step in _headers(record, digits)]
    out = [written(step) for step in islice(_headers(record, digits), MAX_STEPS - 1)]
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
    return {name: v for name, v in record.values.items() if split_example(name)[1] in (0, 1)}


def shown(values: dict[str, float], digits: int = 4) -> dict[str, str]:
    """Values as the page writes them (views.numbers.fmt), by name."""
    return {name: fmt_screen(v, digits) for name, v in values.items()}
