"""The network diagram, drawn as SVG: neurons with their values, edges with their weights.

Two views of one step record: the values (inputs and activations on the neurons, weights on the
edges) and the gradients (δ = ∂L/∂z on the neurons, ∂L/∂w on the edges). Meaning never rests
on colour alone, so the drawing reads in black and white: every number is written as text, a
negative weight is drawn dashed, and a larger |w| is drawn thicker.
"""

from __future__ import annotations

from html import escape

from chainrule.record.step import StepRecord
from chainrule.views.numbers import DEFAULT_DIGITS, Names, fmt

COLUMN = 300  # horizontal distance between layers
ROW = 120  # vertical distance between neurons
RADIUS = 34
MARGIN = 70


def _text(x: float, y: float, s: str, size: int = 14, anchor: str = "middle", weight: str = "normal") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" '
        f'class="label">{escape(s)}</text>'
    )


def network_svg(record: StepRecord, digits: int = DEFAULT_DIGITS, gradients: bool = False) -> str:
    """One SVG document: the network of `record`, with values or (gradients=True) gradients."""
    names = Names(record)
    v = record.values
    s = record.suffix(0)  # a batch shows its first example's neuron values; gradients are the batch's
    columns = [list(record.inputs)] + [list(layer.neurons) for layer in record.layers]
    tallest = max(len(c) for c in columns)
    width = 2 * MARGIN + COLUMN * (len(columns) - 1) + 120
    height = 2 * MARGIN + ROW * (tallest - 1) + 90
    pos: dict[str, tuple[float, float]] = {}
    for ci, col in enumerate(columns):
        top = MARGIN + 20 + (tallest - len(col)) * ROW / 2
        for ni, n in enumerate(col):
            pos[n] = (MARGIN + 40 + ci * COLUMN, top + ni * ROW)
    biggest = max((abs(v[wt]) for ns in record.sums for wt, _ in ns.terms), default=1.0) or 1.0
    edges, labels, nodes = [], [], []
    for ns in record.sums:
        targets = [x.neuron for x in record.sums if x.layer == ns.layer]
        for wt, src in ns.terms:
            a = src.removeprefix("a_")
            (x1, y1), (x2, y2) = pos[a], pos[ns.neuron]
            w = v[wt]
            thick = 1.0 + 3.0 * abs(w) / biggest
            dash = ' stroke-dasharray="7 4"' if w < 0 else ""
            edges.append(
                f'<line x1="{x1 + RADIUS:.1f}" y1="{y1:.1f}" x2="{x2 - RADIUS:.1f}" y2="{y2:.1f}" '
                f'stroke="#222" stroke-width="{thick:.2f}"{dash}/>'
            )
            # Near the receiving neuron, edges into it are spread apart; crossing edges are not yet crossing.
            t = 0.72 if len(targets) > 1 else 0.5
            lx, ly = x1 + RADIUS + t * (x2 - x1 - 2 * RADIUS), y1 + t * (y2 - y1)
            text = f"∂L/∂{wt} = {fmt(v[f'dL/d{wt}'], digits)}" if gradients else f"{wt} = {fmt(w, digits)}"
            labels.append(_text(lx, ly - 5, text, 13))
    for ci, col in enumerate(columns):
        for n in col:
            x, y = pos[n]
            nodes.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS}" fill="#fff" stroke="#000" stroke-width="2"/>')
            nodes.append(_text(x, y - 4, n, 15, weight="bold"))
            if ci == 0:
                below = "" if gradients else fmt(v[n + s], digits)
            elif gradients:
                below = f"δ = {fmt(v[f'dL/dz_{n}{s}'], digits)}"
            else:
                below = fmt(v[f"a_{n}{s}"], digits)
            if below:
                nodes.append(_text(x, y + 15, below, 12))
    nodes += _biases(record, pos, digits, gradients)
    nodes += _outputs(record, names, pos, digits, gradients)
    title = "Gradients" if gradients else "Values"
    legend = (
        "edges: ∂L/∂w;  neurons: δ = ∂L/∂z" if gradients else "edges: weights;  neurons: activations (inputs: x)"
    ) + ";  dashed edge: negative weight, thicker: larger |w|"
    if len(record.examples) > 1:
        legend += f";  neuron values of example {record.examples[0] + 1}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="Georgia, serif" role="img" aria-label="{title} of the network">'
        "<style>.label { fill: #000; stroke: #fff; stroke-width: 4px; paint-order: stroke; }</style>"
        f'<rect width="{width}" height="{height}" fill="#fff"/>'
        + _text(MARGIN, 28, title, 16, "start", "bold")
        + "".join(edges)
        + "".join(nodes)
        + "".join(labels)
        + _text(MARGIN, height - 14, legend, 12, "start")
        + "</svg>"
    )


def _biases(record: StepRecord, pos: dict[str, tuple[float, float]], digits: int, gradients: bool) -> list[str]:
    v = record.values
    out = []
    for layer in record.layers:
        for j, b in enumerate(layer.bias_names):
            text = f"∂L/∂{b} = {fmt(v[f'dL/d{b}'], digits)}" if gradients else f"{b} = {fmt(v[b], digits)}"
            if layer.bias_mode == "shared":
                x, y = pos[layer.neurons[-1]]
                out.append(_text(x, y + RADIUS + 22, text + (" (shared)" if len(layer.neurons) > 1 else ""), 12))
            else:
                x, y = pos[layer.neurons[j]]
                out.append(_text(x, y + RADIUS + 18, text, 12))
    return out


def _outputs(
    record: StepRecord, names: Names, pos: dict[str, tuple[float, float]], digits: int, gradients: bool
) -> list[str]:
    v, s = record.values, record.suffix(0)
    out = []
    for n in record.output_neurons:
        x, y = pos[n]
        if gradients:
            text = f"∂L/∂{names.show('a_' + n)} = {fmt(v[f'dL/da_{n}{s}'], digits)}"
        else:
            text = f"target {names.show('y_' + n)} = {fmt(v[f'y_{n}{s}'], digits)}"
        out.append(_text(x + RADIUS + 8, y + 5, text, 12, "start"))
    return out
