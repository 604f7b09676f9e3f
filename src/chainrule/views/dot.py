"""The step's computational graph as DOT text, for Graphviz (`chainrule explain --format dot | dot -Tsvg`).

Every node is one scalar operation or leaf of `record.opgraph`, labelled with its name, what it
computes, its value and its gradient ∂L/∂node; every edge runs in the direction of the forward
pass and is labelled with its local derivative ∂dst/∂src. Names are data: inside DOT's quoted
strings only the quote, the backslash (which starts DOT's own escapes) and control characters
need care, and each is written so that Graphviz shows it as it is.
"""

from __future__ import annotations

from chainrule.record.opgraph import OpGraph, OpNode, op_graph
from chainrule.record.step import StepRecord
from chainrule.views import escape
from chainrule.views.numbers import DEFAULT_DIGITS, Names, fmt

_SHAPES = {"input": "plaintext", "param": "box", "target": "plaintext", "loss": "doubleoctagon", "batch": "octagon"}


def _inner(text: str) -> str:
    return escape.terminal(text).replace("\\", "\\\\").replace('"', '\\"')


def quoted(*lines: str) -> str:
    """A DOT quoted string showing each line literally: \\ and " escaped, control characters made
    visible, the lines joined by DOT's own line break \\n."""
    return '"' + "\\n".join(_inner(line) for line in lines) + '"'


def grad_name(name: str) -> str:
    """∂L/∂name, the name in parentheses where it is a product (∂L/∂(w1·x1))."""
    return f"∂L/∂({name})" if "·" in name else f"∂L/∂{name}"


def node_label(node: OpNode, names: Names, digits: int) -> list[str]:
    """Name (and operation), value, gradient: one line each."""
    head = names.show(node.label)
    if node.kind in ("mul", "add", "act", "loss", "batch"):
        head = f"{head} = {node.op}" if node.kind in ("act", "loss", "batch") else f"{head}  [{node.op}]"
    lines = [head, f"value {fmt(node.value, digits)}"]
    if node.grad is not None:
        lines.append(f"{grad_name(names.show(node.label))} = {fmt(node.grad, digits)}")
    return lines


def render_graph(graph: OpGraph, names: Names, digits: int = DEFAULT_DIGITS, title: str = "") -> str:
    out = ["digraph step {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];']
    if title:
        out.append(f"  label={quoted(title)}; labelloc=t;")
    for node in graph.nodes.values():
        label = quoted(*node_label(node, names, digits))
        shape = _SHAPES.get(node.kind, "ellipse")
        out.append(f"  {quoted(node.id)} [label={label}, shape={shape}];")
    for e in graph.edges:
        attrs = "" if e.local is None else f" [label={quoted(fmt(e.local, digits))}]"
        out.append(f"  {quoted(e.src)} -> {quoted(e.dst)}{attrs};")
    out.append("}")
    return "\n".join(out) + "\n"


def render(record: StepRecord, digits: int = DEFAULT_DIGITS) -> str:
    """One DOT digraph: the step of `record` as scalar operations, values and gradients on the nodes."""
    return render_graph(op_graph(record), Names(record), digits, record.title)
