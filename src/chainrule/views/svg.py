"""The network diagram, drawn as SVG: neurons with their values, edges with their weights.

Two views of one step record: the values (inputs and activations on the neurons, weights on the
edges) and the gradients (δ = ∂L/∂z on the neurons, ∂L/∂w on the edges). Meaning never rests
on colour alone, so the drawing reads in black and white: every number is written as text, a
negative weight is drawn dashed, and a larger |w| is drawn thicker.

The layout is a `Drawing` (lines, circles, labels in SVG units): `to_svg` writes it, `read_svg`
reads it back from a Figure's SVG, and picture.py draws the same drawing in LaTeX.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from chainrule.record.step import StepRecord
from chainrule.views import escape
from chainrule.views.numbers import DEFAULT_DIGITS, Names, fmt

COLUMN = 300  # horizontal distance between layers
ROW = 120  # vertical distance between neurons
RADIUS = 34
MARGIN = 70


@dataclass(frozen=True)
class Line:
    """An edge from (x1, y1) to (x2, y2), y downwards; a negative weight's edge is dashed."""

    x1: float
    y1: float
    x2: float
    y2: float
    width: float
    dashed: bool


@dataclass(frozen=True)
class Circle:
    x: float
    y: float
    r: float


@dataclass(frozen=True)
class Label:
    """Words whose baseline starts (anchor start) or is centred (middle) at (x, y)."""

    x: float
    y: float
    text: str
    size: int
    anchor: str = "middle"
    bold: bool = False


@dataclass(frozen=True)
class Drawing:
    """What a diagram shows, in SVG user units: the SVG writer and LaTeX's picture both draw it."""

    width: int
    height: int
    title: str
    lines: list[Line] = field(default_factory=list)
    circles: list[Circle] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)  # drawn last, over the edges


def _text(x: float, y: float, s: str, size: int = 14, anchor: str = "middle", weight: str = "normal") -> Label:
    return Label(round(x, 1), round(y, 1), s, size, anchor, weight == "bold")


def network_svg(record: StepRecord, digits: int = DEFAULT_DIGITS, gradients: bool = False) -> str:
    """One SVG document: the network of `record`, with values or (gradients=True) gradients."""
    return to_svg(network_drawing(record, digits, gradients))


def network_drawing(record: StepRecord, digits: int = DEFAULT_DIGITS, gradients: bool = False) -> Drawing:
    """The network of `record` laid out in columns, with values or (gradients=True) gradients."""
    columns = [list(record.inputs)] + [list(layer.neurons) for layer in record.layers]
    tallest = max(len(c) for c in columns)
    pos: dict[str, tuple[float, float]] = {}
    for ci, col in enumerate(columns):
        top = MARGIN + 20 + (tallest - len(col)) * ROW / 2
        for ni, n in enumerate(col):
            pos[n] = (MARGIN + 40 + ci * COLUMN, top + ni * ROW)
    title = "Gradients" if gradients else "Values"
    height = 2 * MARGIN + ROW * (tallest - 1) + 90
    out = Drawing(2 * MARGIN + COLUMN * (len(columns) - 1) + 120, height, title)
    _edges(out, record, pos, digits, gradients)
    _neurons(out, record, pos, digits, gradients)
    out.labels.extend(_biases(record, pos, digits, gradients))
    out.labels.extend(_outputs(record, Names(record), pos, digits, gradients))
    legend = (
        "edges: ∂L/∂w;  neurons: δ = ∂L/∂z" if gradients else "edges: weights;  neurons: activations (inputs: x)"
    ) + ";  dashed edge: negative weight, thicker: larger |w|"
    if len(record.examples) > 1:
        legend += f";  neuron values of example {record.examples[0] + 1}"
    out.labels.insert(0, _text(MARGIN, 28, title, 16, "start", "bold"))
    out.labels.append(_text(MARGIN, height - 14, legend, 12, "start"))
    return out


def _edges(out: Drawing, record: StepRecord, pos: dict[str, tuple[float, float]], digits: int, gradients: bool) -> None:
    """Every weight as an edge, 1 + 3·|w|/max|w| wide, dashed where negative, with its label."""
    v = record.values
    biggest = max((abs(v[wt]) for ns in record.sums for wt, _ in ns.terms), default=1.0) or 1.0
    # A term's sending value is an input by its own name (which may start "a_") or a neuron's a_<neuron>.
    where = {x: pos[x] for x in record.inputs} | {f"a_{n}": pos[n] for layer in record.layers for n in layer.neurons}
    for ns in record.sums:
        targets = [x.neuron for x in record.sums if x.layer == ns.layer]
        for wt, src in ns.terms:
            (x1, y1), (x2, y2) = where[src], pos[ns.neuron]
            w = v[wt]
            width = round(1.0 + 3.0 * abs(w) / biggest, 2)
            out.lines.append(
                Line(round(x1 + RADIUS, 1), round(y1, 1), round(x2 - RADIUS, 1), round(y2, 1), width, w < 0)
            )
            # Near the receiving neuron, edges into it are spread apart; crossing edges are not yet crossing.
            t = 0.72 if len(targets) > 1 else 0.5
            lx, ly = x1 + RADIUS + t * (x2 - x1 - 2 * RADIUS), y1 + t * (y2 - y1)
            text = f"∂L/∂{wt} = {fmt(v[f'dL/d{wt}'], digits)}" if gradients else f"{wt} = {fmt(w, digits)}"
            out.labels.append(_text(lx, ly - 5, text, 13))


def _neurons(
    out: Drawing, record: StepRecord, pos: dict[str, tuple[float, float]], digits: int, gradients: bool
) -> None:
    """Every neuron as a circle with its name, and its value (an input's x, an activation) or its δ."""
    v, s = record.values, record.suffix(0)  # a batch shows its first example's neuron values
    for n, (x, y) in pos.items():
        out.circles.append(Circle(round(x, 1), round(y, 1), RADIUS))
        out.labels.append(_text(x, y - 4, n, 15, weight="bold"))
        if n in record.inputs:
            below = "" if gradients else fmt(v[n + s], digits)
        elif gradients:
            below = f"δ = {fmt(v[f'dL/dz_{n}{s}'], digits)}"
        else:
            below = fmt(v[f"a_{n}{s}"], digits)
        if below:
            out.labels.append(_text(x, y + 15, below, 12))


def _svg_label(t: Label) -> str:
    return (
        f'<text x="{t.x:.1f}" y="{t.y:.1f}" font-size="{t.size}" text-anchor="{t.anchor}" '
        f'font-weight="{"bold" if t.bold else "normal"}" class="label">{escape.html(t.text)}</text>'
    )


def to_svg(d: Drawing) -> str:
    """The drawing as one SVG document (names escaped: a name is text, never markup)."""
    edges = "".join(
        f'<line x1="{e.x1:.1f}" y1="{e.y1:.1f}" x2="{e.x2:.1f}" y2="{e.y2:.1f}" stroke="#222" '
        f'stroke-width="{e.width:.2f}"{_DASH if e.dashed else ""}/>'
        for e in d.lines
    )
    nodes = "".join(
        f'<circle cx="{c.x:.1f}" cy="{c.y:.1f}" r="{c.r:g}" fill="#fff" stroke="#000" stroke-width="2"/>'
        for c in d.circles
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {d.width} {d.height}" width="{d.width}" '
        f'height="{d.height}" font-family="Georgia, serif" role="img" aria-label="{escape.html(d.title)} of the network">'
        "<style>.label { fill: #000; stroke: #fff; stroke-width: 4px; paint-order: stroke; }</style>"
        f'<rect width="{d.width}" height="{d.height}" fill="#fff"/>'
        + edges
        + nodes
        + "".join(_svg_label(t) for t in d.labels)
        + "</svg>"
    )


_NS = "{http://www.w3.org/2000/svg}"
_DASH = ' stroke-dasharray="7 4"'


def read_svg(svg: str) -> Drawing:
    """The drawing back from an SVG that `to_svg` wrote (for formats that cannot show SVG)."""
    root = ET.fromstring(svg)
    title = re.sub(r" of the network$", "", root.get("aria-label", ""))
    d = Drawing(int(float(root.get("width", "0"))), int(float(root.get("height", "0"))), title)
    for e in root.iter(_NS + "line"):
        x1, y1, x2, y2, width = (float(e.get(k, "0")) for k in ("x1", "y1", "x2", "y2", "stroke-width"))
        d.lines.append(Line(x1, y1, x2, y2, width, "stroke-dasharray" in e.attrib))
    for c in root.iter(_NS + "circle"):
        d.circles.append(Circle(float(c.get("cx", "0")), float(c.get("cy", "0")), float(c.get("r", "0"))))
    for t in root.iter(_NS + "text"):
        d.labels.append(
            Label(
                float(t.get("x", "0")),
                float(t.get("y", "0")),
                t.text or "",
                int(t.get("font-size", "12")),
                t.get("text-anchor", "middle"),
                t.get("font-weight") == "bold",
            )
        )
    return d


def _biases(record: StepRecord, pos: dict[str, tuple[float, float]], digits: int, gradients: bool) -> list[Label]:
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
) -> list[Label]:
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
