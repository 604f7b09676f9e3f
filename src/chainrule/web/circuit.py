"""The page's graph view: the step's computational graph (record.opgraph), stepped backward node by node.

Each node comes with its value and gradient ∂L/∂node, and its place in the layered layout the
SVG figure uses (views.opgraph_svg.layout); each edge with its local derivative ∂dst/∂src and what
it sends back, (∂dst/∂src) · ∂L/∂dst. The steps walk the nodes from the loss back to the leaves;
at each the page shows the contributions that arrived (one per out-edge) and their sum, which is
the node's gradient:

    ∂L/∂node = Σ over out-edges (∂dst/∂node) · ∂L/∂dst

Every number is the record's or the graph's, written by views.numbers.fmt and sent exactly too.
"""

from __future__ import annotations

from typing import Any

from chainrule.record.opgraph import OpEdge, OpGraph, op_graph
from chainrule.record.step import StepRecord
from chainrule.views.numbers import fmt_screen
from chainrule.views.opgraph_svg import MAX_OPERATIONS, layout


def _num(x: float | None, digits: int) -> dict[str, str] | None:
    return None if x is None else {"shown": fmt_screen(x, digits), "exact": repr(x)}


def _edge(g: OpGraph, e: OpEdge, digits: int) -> dict[str, Any]:
    return {
        "src": e.src,
        "dst": e.dst,
        "local": _num(e.local, digits),
        "product": _num(g.contribution(e), digits),
    }


def circuit(record: StepRecord, digits: int = 4) -> dict[str, Any]:
    """Nodes (with layout), edges and the backward order, or a note when the graph is too large to step."""
    g = op_graph(record)
    place = layout(g)
    if g.operations > MAX_OPERATIONS or place.hidden:
        note = f"{g.operations} operations: too many to step through here (chainrule explain --format dot draws them)"
        return {"nodes": [], "edges": [], "order": [], "note": note}
    nodes = [
        {
            "id": n.id,
            "kind": n.kind,
            "label": n.label,
            "op": n.op,
            "value": _num(n.value, digits),
            "grad": _num(n.grad, digits),
            "column": place.column[n.id],
            "row": place.row[n.id],
        }
        for n in g.nodes.values()
    ]
    order = [n.id for n in reversed(g.nodes.values()) if n.grad is not None]
    return {"nodes": nodes, "edges": [_edge(g, e, digits) for e in g.edges], "order": order, "note": ""}
