"""The step as a computational graph of scalar operations, each with its value and its gradient ∂L/∂node.

One node per multiply (w·a), add (z = Σ w·a + b), activation (a = f(z)), loss, and, for a batch,
the sum or mean of the example losses; the leaves are the inputs, the parameters and the targets.
Edges run in the direction of the forward pass and carry the local derivative ∂dst/∂src. A leaf
used twice has two edges: the shared bias b1 fans out to both hidden sums, and a parameter used
by every example of a batch fans out to each.

Every value is read from the step record; the local derivatives come from it too (the other
factor of a product, 1 for a sum, f'(z) for an activation, the record's ∂L/∂ŷ for the loss), and
the gradients are then found by walking the graph backwards, node by node:

    ∂L/∂node = Σ over the node's out-edges  (∂dst/∂node) · ∂L/∂dst,   ∂L/∂L = 1,

which is the chain rule the engine applies layer by layer. A test checks that each parameter's
gradient found this way equals the record's dL/dθ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from chainrule.engine.functions import ACTIVATIONS
from chainrule.record.exact import exact_sum
from chainrule.record.step import StepRecord

Kind = Literal["input", "param", "target", "mul", "add", "act", "loss", "batch"]
LEAVES: tuple[Kind, ...] = ("input", "param", "target")


@dataclass
class OpNode:
    """One scalar: a leaf or the result of one operation. `grad` is ∂L/∂node (None for targets: not differentiated)."""

    id: str
    kind: Kind
    label: str  # the leaf's or result's name (w5, z_h1#2, a_out, L); a product's is "w5·a_h1"
    op: str  # what the node computes, in words a figure can show: "×", "+", "sigmoid", "½ Σ (y − ŷ)²"
    value: float
    neuron: str = ""  # the neuron whose sum or activation this is ("" for leaves and the loss)
    example: int = 0  # the batch example (0-based within the batch)
    grad: float | None = None


@dataclass(frozen=True)
class OpEdge:
    """src feeds dst in the forward pass; `local` is ∂dst/∂src (None into the loss from a target)."""

    src: str
    dst: str
    local: float | None


@dataclass
class OpGraph:
    """The nodes in forward order (each after everything it reads) and the edges between them."""

    nodes: dict[str, OpNode] = field(default_factory=dict)
    edges: list[OpEdge] = field(default_factory=list)

    @property
    def operations(self) -> int:
        """How many nodes are operations (everything but the leaves)."""
        return sum(1 for n in self.nodes.values() if n.kind not in LEAVES)

    def into(self, node: str) -> list[OpEdge]:
        return [e for e in self.edges if e.dst == node]

    def out_of(self, node: str) -> list[OpEdge]:
        return [e for e in self.edges if e.src == node]

    def contribution(self, edge: OpEdge) -> float | None:
        """What this edge adds to ∂L/∂src: (∂dst/∂src) · ∂L/∂dst."""
        grad = self.nodes[edge.dst].grad
        return None if edge.local is None or grad is None else edge.local * grad

    def _add(self, node: OpNode, *reads: tuple[str, float | None]) -> None:
        self.nodes[node.id] = node
        self.edges.extend(OpEdge(src, node.id, local) for src, local in reads)


def op_graph(record: StepRecord) -> OpGraph:
    """The graph of one step record, its gradients found by walking it backwards from the loss."""
    g = OpGraph()
    v = record.values
    for u in record.updates:
        g._add(OpNode(u.param, "param", u.param, "", v[u.param]))
    n = len(record.examples)
    scale = 1.0 / n if record.reduction == "mean" else 1.0
    for k in range(n):
        s = record.suffix(k)
        for x in record.inputs:
            g._add(OpNode(x + s, "input", x + s, "", v[x + s], example=k))
        _forward(g, record, k)
        _loss(g, record, k, scale if s else 1.0)
    if n > 1:
        reads = tuple((f"loss{record.suffix(k)}", scale) for k in range(n))
        g._add(OpNode("loss", "batch", "L", "mean" if record.reduction == "mean" else "sum", v["loss"]), *reads)
    _backward(g)
    return g


def _forward(g: OpGraph, record: StepRecord, k: int) -> None:
    """Each neuron's products w·a, its sum z and its activation a, for example k."""
    v, s = record.values, record.suffix(k)
    alphas = {layer.name: layer.alpha_name for layer in record.layers}
    for layer in record.layers:
        act = ACTIVATIONS[layer.activation]
        for ns in (x for x in record.sums if x.layer == layer.name):
            adds: list[tuple[str, float | None]] = []
            for w, src in ns.terms:
                mul = f"{w}·{src}{s}"
                node = OpNode(mul, "mul", f"{w}·{src}{s}", "×", v[w] * v[src + s], ns.neuron, k)
                g._add(node, (w, v[src + s]), (src + s, v[w]))
                adds.append((mul, 1.0))
            if ns.bias:
                adds.append((ns.bias, 1.0))
            z = f"z_{ns.neuron}{s}"
            g._add(OpNode(z, "add", z, "+", v[z], ns.neuron, k), *adds)
        for j, neuron in enumerate(layer.neurons):
            a, z = f"a_{neuron}{s}", f"z_{neuron}{s}"
            if act.elementwise:
                reads: list[tuple[str, float | None]] = [(z, v[f"da_{neuron}/dz_{neuron}{s}"])]
            else:  # softmax: every z of the layer, ∂a_j/∂z_i = a_j (δ_ij − a_i)
                reads = [
                    (f"z_{m}{s}", v[a] * ((1.0 if i == j else 0.0) - v[f"a_{m}{s}"]))
                    for i, m in enumerate(layer.neurons)
                ]
            name = alphas[layer.name]
            if name and act.alpha_derivative is not None:
                d = act.alpha_derivative(np.array([v[z]]), np.array([v[a]]), v[name])
                reads.append((name, float(d[0])))
            g._add(OpNode(a, "act", a, act.name, v[a], neuron, k), *reads)


def _loss(g: OpGraph, record: StepRecord, k: int, scale: float) -> None:
    """The example's loss from the outputs and targets; its local derivatives are the record's ∂L/∂ŷ.

    The record's dL/da of an example carries the batch's 1/N (mean), which belongs to the batch
    node's edge: the loss node's own derivative is dL/da / scale. A loss fused with its output
    activation (softmax with cross-entropy, sigmoid with binary cross-entropy) is computed and
    differentiated from z, as the engine does (stabler): it reads z, and ŷ is shown beside it
    without a gradient of its own on that path.
    """
    v, s = record.values, record.suffix(k)
    reads: list[tuple[str, float | None]] = []
    for neuron in record.output_neurons:
        y = f"y_{neuron}{s}"
        g._add(OpNode(y, "target", y, "", v[y], example=k))
        if record.fused:
            reads.append((f"z_{neuron}{s}", v[f"dL/dz_{neuron}{s}"] / scale))
        else:
            reads.append((f"a_{neuron}{s}", v[f"dL/da_{neuron}{s}"] / scale))
        reads.append((y, None))
    op = f"{record.layers[-1].activation} + {record.loss}" if record.fused else record.loss
    g._add(OpNode(f"loss{s}", "loss", f"L{s}", op, v[f"loss{s}"], example=k), *reads)


def _backward(g: OpGraph) -> None:
    """∂L/∂node for every node but the targets, from the last node back: Σ local · ∂L/∂dst."""
    last = next(reversed(g.nodes))
    out: dict[str, list[OpEdge]] = {}
    for e in g.edges:
        out.setdefault(e.src, []).append(e)
    for node_id in reversed(g.nodes):
        node = g.nodes[node_id]
        if node_id == last:
            node.grad = 1.0
        elif node.kind == "act" and node_id not in out:
            node.grad = None  # ŷ beside a fused loss: the gradient flows from the loss to z directly
        elif node.kind != "target":  # Σ local · ∂L/∂dst, exact in decimals as the record's (record.exact)
            reads = [(e.local, g.nodes[e.dst].grad) for e in out.get(node_id, [])]
            node.grad = exact_sum((local, grad) for local, grad in reads if local is not None and grad is not None)
