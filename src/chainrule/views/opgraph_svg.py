"""The computational graph drawn as SVG by chainrule itself: a layered layout, no Graphviz.

Each node goes in the column of its depth (the longest path to it from a leaf, the forward
pass running left to right); a leaf goes just before the first operation that reads it, so that
w5 sits beside a_h1, not far left. Within a column nodes are ordered by the mean row of what
they read (leaves: of what reads them), which keeps most edges short and uncrossed.

Operations are circles showing what they compute (×, +, the activation, L); leaves are words
only. Under every node: its value and its gradient ∂L/∂node. Edges end in an arrowhead at the
node they feed. The drawing is an svg.Drawing (lines, circles, words), so LaTeX draws the same
figure through picture.py.

Up to MAX_OPERATIONS operations every one is drawn. A larger step is drawn one node a neuron
(its sum and activation together, with δ = ∂L/∂z) for the first example, and a column taller
than MAX_ROWS shows its first rows and says how many it leaves out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from chainrule.record.opgraph import LEAVES, OpEdge, OpGraph, OpNode, op_graph
from chainrule.record.step import StepRecord
from chainrule.views.dot import grad_name
from chainrule.views.numbers import DEFAULT_DIGITS, Names, fmt
from chainrule.views.svg import Circle, Drawing, Label, Line, to_svg

MAX_OPERATIONS = 60
MAX_ROWS = 30
COLUMN = 175
ROW = 92
RADIUS = 20
MARGIN = 60
GRAPH_CAPTION = (
    "The step as a computational graph: one node per multiply, add, activation and loss, its value and "
    "∂L/∂node beneath it. A leaf used twice (a shared bias, any parameter in a batch) fans out, and its "
    "gradient is the sum of what flows back along its edges."
)
_SYMBOLS = {"mul": "×", "add": "+", "loss": "L", "batch": "Σ"}


@dataclass
class _Place:
    """Where the layout puts each node: its column and its row in that column."""

    column: dict[str, int] = field(default_factory=dict)
    row: dict[str, float] = field(default_factory=dict)
    hidden: dict[int, int] = field(default_factory=dict)  # column → how many nodes it leaves out


def opgraph_svg(record: StepRecord, digits: int = DEFAULT_DIGITS) -> str:
    """The step of `record` as an SVG document: every scalar operation, or one node a neuron when large."""
    return to_svg(opgraph_drawing(record, digits))


def opgraph_drawing(record: StepRecord, digits: int = DEFAULT_DIGITS) -> Drawing:
    graph = op_graph(record)
    count = graph.operations
    note = "left to right: the forward pass; under each node its value and ∂L/∂node"
    grouped = False
    if not _fits(graph) and len(record.examples) > 1:
        graph = first_example(graph)
        note += f"; example {record.examples[0] + 1} of {len(record.examples)} only ({count} operations in all)"
        note += ", a parameter's ∂L/∂ is the whole batch's"
    if not _fits(graph):
        graph, grouped = neuron_graph(record), True
        note = f"{count} operations, drawn one node a neuron (its z and a; δ = ∂L/∂z)"
        if len(record.examples) > 1:
            note += f", example {record.examples[0] + 1} only"
    return _draw(graph, layout(graph), Names(record), digits, note, grouped)


def _fits(graph: OpGraph) -> bool:
    """Whether every operation can be drawn readably: few enough, and no column too tall."""
    return graph.operations <= MAX_OPERATIONS and not layout(graph).hidden


def first_example(graph: OpGraph) -> OpGraph:
    """The parameters and the first example's nodes, with the edges between them."""
    keep = {n for n, node in graph.nodes.items() if node.kind == "param" or (node.example == 0 and n != "loss")}
    g = OpGraph({n: node for n, node in graph.nodes.items() if n in keep})
    g.edges = [e for e in graph.edges if e.src in keep and e.dst in keep]
    return g


def neuron_graph(record: StepRecord) -> OpGraph:
    """The first example's neurons as nodes (value a, gradient δ = ∂L/∂z), the inputs and the loss."""
    g = OpGraph()
    v, s = record.values, record.suffix(0)
    for x in record.inputs:
        g.nodes[x + s] = OpNode(x + s, "input", x, "", v[x + s])
    for ns in record.sums:
        a = f"a_{ns.neuron}{s}"
        g.nodes[a] = OpNode(a, "act", ns.neuron, ns.activation, v[a], ns.neuron, 0, v[f"dL/dz_{ns.neuron}{s}"])
        g.edges.extend(OpEdge(src + s, a, None) for _, src in ns.terms)
    loss = f"loss{s}"
    g.nodes[loss] = OpNode(loss, "loss", "L", record.loss, v[loss])
    g.edges.extend(OpEdge(f"a_{n}{s}", loss, None) for n in record.output_neurons)
    return g


def layout(graph: OpGraph) -> _Place:
    """Columns by depth (leaves just before their first reader), rows by the mean row of their neighbours."""
    reads: dict[str, list[str]] = {n: [] for n in graph.nodes}
    readers: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for e in graph.edges:
        reads[e.dst].append(e.src)
        readers[e.src].append(e.dst)
    depth: dict[str, int] = {}
    for node_id, node in graph.nodes.items():  # the nodes come in forward order
        depth[node_id] = 0 if node.kind in LEAVES else 1 + max((depth[s] for s in reads[node_id]), default=0)
    for node_id, node in graph.nodes.items():
        after = [depth[m] for m in readers[node_id]]
        if node.kind in LEAVES and after:
            depth[node_id] = max(0, min(after) - 1)
    shift = min(depth.values(), default=0)
    place = _Place(column={n: d - shift for n, d in depth.items()})
    columns: dict[int, list[str]] = {}
    for node_id in graph.nodes:
        columns.setdefault(place.column[node_id], []).append(node_id)
    for col in sorted(columns):  # first pass: operations by what they read, in forward order
        _order(columns[col], place, reads.__getitem__)
    for col in sorted(columns):  # second: leaves by what reads them
        _order(columns[col], place, lambda n: readers[n] + reads[n])
    for col, ids in columns.items():
        if len(ids) > MAX_ROWS:
            place.hidden[col] = len(ids) - (MAX_ROWS - 1)
            for n in ids[MAX_ROWS - 1 :]:
                place.row.pop(n, None)
                place.column.pop(n)
    return place


def _order(ids: list[str], place: _Place, neighbours: Callable[[str], list[str]]) -> None:
    """Sort a column by the mean row of each node's placed neighbours (stable: ties keep forward order)."""

    def key(item: tuple[int, str]) -> float:
        rows = [place.row[m] for m in neighbours(item[1]) if m in place.row]
        return sum(rows) / len(rows) if rows else float(item[0])

    ranked = sorted(enumerate(ids), key=key)
    ids[:] = [n for _, n in ranked]
    for i, n in enumerate(ids):
        place.row[n] = float(i)


def _draw(graph: OpGraph, place: _Place, names: Names, digits: int, note: str, grouped: bool) -> Drawing:
    columns = max(place.column.values(), default=0) + 1
    tallest = max([sum(1 for c in place.column.values() if c == col) for col in range(columns)] + [1])
    tallest += 1 if place.hidden else 0
    width = 2 * MARGIN + COLUMN * (columns - 1) + 120
    height = 2 * MARGIN + ROW * (tallest - 1) + 80
    d = Drawing(width, height, "Computational graph")

    def at(node_id: str) -> tuple[float, float]:
        col = place.column[node_id]
        count = sum(1 for c in place.column.values() if c == col)
        top = MARGIN + 30 + (tallest - count) * ROW / 2
        return MARGIN + 40 + col * COLUMN, top + place.row[node_id] * ROW

    for e in graph.edges:
        if e.src in place.column and e.dst in place.column:
            _arrow(d, graph.nodes[e.src], at(e.src), at(e.dst))
    for node_id in place.column:
        _node(d, graph.nodes[node_id], at(node_id), names, digits, grouped)
    for col, count in place.hidden.items():
        x = MARGIN + 40 + col * COLUMN
        d.labels.append(Label(x, height - MARGIN + 4, f"… {count} more not drawn", 11))
    d.labels.insert(0, Label(MARGIN, 28, "Computational graph", 16, "start", True))
    d.labels.append(Label(MARGIN, height - 14, note, 12, "start"))
    return d


def _arrow(d: Drawing, src: OpNode, a: tuple[float, float], b: tuple[float, float]) -> None:
    """An edge from the right of `a` to the left of `b`, with a small arrowhead at `b`."""
    x1 = a[0] + (RADIUS if src.kind not in LEAVES else 26)
    x2, y1, y2 = b[0] - RADIUS - 2, a[1], b[1]
    d.lines.append(Line(round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1), 1.2, False))
    angle = math.atan2(y2 - y1, x2 - x1)
    for turn in (2.7, -2.7):
        hx, hy = x2 + 9 * math.cos(angle + turn), y2 + 9 * math.sin(angle + turn)
        d.lines.append(Line(round(x2, 1), round(y2, 1), round(hx, 1), round(hy, 1), 1.2, False))


def _node(d: Drawing, node: OpNode, pos: tuple[float, float], names: Names, digits: int, grouped: bool) -> None:
    """An operation as a circle with its symbol and its name above; a leaf as words; value and gradient below."""
    x, y = pos
    name = names.show(node.label)
    if node.kind in LEAVES:
        d.labels.append(Label(round(x, 1), round(y + 4, 1), name, 13, bold=node.kind == "param"))
        below = y + 20
    else:
        d.circles.append(Circle(round(x, 1), round(y, 1), RADIUS))
        symbol = _SYMBOLS.get(node.kind) or _short(node.op)
        d.labels.append(Label(round(x, 1), round(y + 5, 1), symbol, 13 if len(symbol) < 3 else 11, bold=True))
        above = name if node.kind != "loss" or "#" in name else ""
        if above:
            d.labels.append(Label(round(x, 1), round(y - RADIUS - 5, 1), above, 12))
        below = y + RADIUS + 14
    d.labels.append(Label(round(x, 1), round(below, 1), fmt(node.value, digits), 11))
    if node.grad is not None:
        # a product's name is long: its gradient is captioned ∂L/∂ alone; a neuron's (grouped) is δ
        caption = (
            "δ =" if grouped and node.kind == "act" else "∂L/∂ =" if node.kind == "mul" else f"{grad_name(name)} ="
        )
        d.labels.append(Label(round(x, 1), round(below + 13, 1), f"{caption} {fmt(node.grad, digits)}", 11))


def _short(op: str) -> str:
    """An activation's or loss's name, short enough for a circle: sigmoid → σ, tanh, relu, …"""
    return {"sigmoid": "σ", "identity": "id", "softmax": "soft", "leaky_relu": "lrelu"}.get(op, op[:5])
