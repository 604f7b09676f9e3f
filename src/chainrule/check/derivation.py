"""How a value is computed from the values it reads, as a person writes it out: the derivation.

The checker shows it for the first wrong number (the correct computation from exact values) and
for a slip (the same computation from the numbers the person wrote).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chainrule.record.graph import StepGraph

# How the checker names an optimizer's computation (record.optimizer_graph) in a derivation.
OPTIMIZER_FUNCTIONS = {"average": "running_average", "adam": "adam_update", "change": "difference"}


@dataclass(frozen=True)
class Term:
    """One operand of a derivation: what a person writes (``w1·x1``, ``σ(z_h1)``) and its value."""

    label: str
    value: float
    factors: tuple[float, ...] = ()  # for a product term (w5·dL/dz_out): the values it multiplies


@dataclass(frozen=True)
class Derivation:
    """How a value is computed from the values it reads: the operation, its operands and result."""

    op: str  # sum, product, update, function, given
    function: str  # for op function: what is applied (σ, σ′, half_squared_error, ∂L/∂ŷ, ...)
    terms: tuple[Term, ...]
    coef: float
    value: float


def derivation(graph: StepGraph, name: str, values: Mapping[str, float]) -> Derivation:
    """How ``name`` is computed, with the operands' values taken from ``values``."""
    node = graph.nodes[name]
    if node.op == "given":
        return Derivation("given", "", (), 1.0, values[name])
    if node.op == "sum":
        terms = [Term(f"{p}·{q}", values[p] * values[q], (values[p], values[q])) for p, q in node.pairs]
        terms += [Term(a, values[a]) for a in node.args]
        return Derivation("sum", "", tuple(terms), node.coef, values[name])
    if node.op == "product":
        return Derivation("product", "", tuple(Term(a, values[a]) for a in node.args), node.coef, values[name])
    if node.op == "update":
        p, g = node.args
        return Derivation("update", "", (Term(p, values[p]), Term(g, values[g])), -node.coef, values[name])
    reads = graph.inputs_of(name)
    if node.op in ("act", "deriv", "alpha"):
        symbol = graph.net.layers[node.layer].activation.symbol
        function = {"act": symbol, "deriv": symbol + "′", "alpha": f"∂{symbol}/∂α"}[node.op]
    else:
        named = {"dloss": "∂L/∂ŷ", "fused_dz": "ŷ − y", "softmax_dz": "softmax′"} | OPTIMIZER_FUNCTIONS
        function = named.get(node.op, graph.net.loss.name)
        if node.op == "adam":  # RMSProp's update is Adam's node, reading g and s for m̂ and ŝ
            function = f"{graph.net.training.optimizer.name}_update"
    return Derivation("function", function, tuple(Term(a, values[a]) for a in reads), node.coef, values[name])
