"""One update step as a graph of named numbers: each value of the step record and the values it is made from.

The checker needs what the vectorized engine cannot give: the order in which a person computes the
numbers (inputs and parameters → z → a → loss → ∂L/∂a, ∂L/∂z → ∂L/∂θ → θ_new), a way to pin any
number to the value someone wrote and recompute everything after it, and a way to change one rule
(a mistake) and recompute. The graph is derived from the network's structure; every function and
derivative comes from the registry in functions.py, and a test checks that evaluating the graph
gives the engine's numbers to 1e-12. Its sums are exact in the values' decimals, as the record's
are (record.exact), so both land on the same side of a kink.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from chainrule.engine.network import Network, Reduction
from chainrule.record.derivations import jacobian_names
from chainrule.record.exact import exact_activation, exact_sum
from chainrule.record.nodes import Add, Node
from chainrule.record.nodes import Op as Op
from chainrule.record.optimizer_graph import change_names as change_names
from chainrule.record.optimizer_graph import optimizer_op, update_nodes
from chainrule.record.rounding import round_as_written


@dataclass
class StepGraph:
    """The nodes of one step, in an order where every node comes after what it reads."""

    net: Network
    examples: tuple[int, ...]
    reduction: Reduction
    nodes: dict[str, Node]
    order: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.nodes = _toposort(self.nodes)
        self.order = {name: i for i, name in enumerate(self.nodes)}

    def inputs_of(self, name: str) -> tuple[str, ...]:
        node = self.nodes[name]
        reads = [*(n for pq in node.pairs for n in pq), *node.args]
        if node.alpha:
            reads.append(node.alpha)
        return tuple(dict.fromkeys(reads))

    def ancestors(self, name: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self.inputs_of(name))
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(self.inputs_of(n))
        return seen

    def frontier(self, name: str, marked: set[str] | Mapping[str, object]) -> set[str]:
        """The marked names upstream of ``name`` reached without passing through another marked one."""
        found: set[str] = set()
        seen: set[str] = set()
        todo = list(self.inputs_of(name))
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            if n in marked:
                found.add(n)
            else:
                todo.extend(self.inputs_of(n))
        return found

    def rewritten(self, *nodes: Node) -> StepGraph:
        """The same step with some nodes computed another way (how a mistake is made)."""
        new = dict(self.nodes)
        for node in nodes:
            new[node.name] = node
        return StepGraph(self.net, self.examples, self.reduction, new)

    def params(self) -> list[str]:
        return self.net.parameter_names()


def _toposort(nodes: dict[str, Node]) -> dict[str, Node]:
    out: dict[str, Node] = {}
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in out:
            return
        if name in visiting:
            raise ValueError(f"the step graph has a cycle through {name}")
        visiting.add(name)
        node = nodes[name]
        for n in [*(n for pq in node.pairs for n in pq), *node.args, *([node.alpha] if node.alpha else [])]:
            visit(n)
        visiting.discard(name)
        out[name] = node

    for name in nodes:
        visit(name)
    return out


def evaluate(
    graph: StepGraph,
    pins: Mapping[str, float] | None = None,
    decimals: int | None = None,
    float64: bool = False,
) -> dict[str, float]:
    """Every value of the step; a pinned name takes the given value instead of its own, and with
    ``decimals`` every computed value is rounded as a person working by hand would round it.
    ``float64``: sums as float64 training computes them, in binary, instead of exactly in decimals:
    the other side of a kink where ``StepRecord.other_side`` names one, an answer to accept too."""
    pins = pins or {}
    net = graph.net
    v: dict[str, float] = {}
    for name, node in graph.nodes.items():
        if name in pins:
            v[name] = float(pins[name])
            continue
        x = _compute(net, node, v, float64)
        if decimals is not None and node.op != "given":
            x = round_as_written(x, decimals)
        v[name] = x
    return v


def recompute(graph: StepGraph, name: str, values: Mapping[str, float]) -> float:
    """``name`` computed from the given values of what it reads (for instance, rounded ones)."""
    return _compute(graph.net, graph.nodes[name], values)


def _vec(v: Mapping[str, float], names: tuple[str, ...]) -> np.ndarray:
    return np.array([v[n] for n in names], dtype=float)


def _compute(net: Network, node: Node, v: Mapping[str, float], float64: bool = False) -> float:
    op = node.op
    if op == "given":
        return node.value
    if op == "sum" and float64:
        return node.coef * (sum(v[p] * v[q] for p, q in node.pairs) + sum(v[a] for a in node.args))
    if op == "sum":  # exact in the values' decimals, as the step record's sums (record.exact)
        return node.coef * exact_sum(((v[p], v[q]) for p, q in node.pairs), (v[a] for a in node.args))
    if op == "product":
        return node.coef * math.prod(v[a] for a in node.args)
    if op == "update":
        return v[node.args[0]] + node.coef * v[node.args[1]]
    if op in ("average", "adam", "change"):
        return optimizer_op(node, v)
    if op in ("loss", "fused_loss", "dloss", "fused_dz", "softmax_dz", "loss_term"):
        return node.coef * _loss_op(net, node, v)
    layer = net.layers[node.layer]
    alpha = v[node.alpha] if node.alpha else layer.alpha_value()
    act = layer.activation
    if op == "act":
        if act.exact is not None and not float64:
            return float(exact_activation(act, v[node.args[0]], alpha))
        return float(act.value(_vec(v, node.args), alpha)[node.index])
    if op == "deriv":
        z, a = np.array([v[node.args[0]]]), np.array([v[node.args[1]]])
        if node.at_a:
            z, a = a, act.value(a, alpha)
        return node.coef * float(act.derivative(z, a, alpha)[0])
    assert op == "alpha" and act.alpha_derivative is not None
    # args: (dL/da_j, z_j, a_j) for every neuron j of the layer: ∂L/∂α = Σ_j ∂L/∂a_j · ∂a_j/∂α
    total = 0.0
    for i in range(0, len(node.args), 3):
        d_a, z_j, a_j = (v[n] for n in node.args[i : i + 3])
        total += d_a * float(act.alpha_derivative(np.array([z_j]), np.array([a_j]), alpha)[0])
    return node.coef * total


def _loss_op(net: Network, node: Node, v: Mapping[str, float]) -> float:
    """The loss of one example and its derivatives; args are the output layer's vectors, m names each."""
    m = net.output_layer.units
    parts = [_vec(v, node.args[i : i + m])[None, :] for i in range(0, len(node.args), m)]
    loss = net.loss
    if node.op == "loss_term":  # (a_j, y_j): one output's share of the loss
        return float(loss.value(_vec(v, node.args[:1])[None, :], _vec(v, node.args[1:])[None, :])[0])
    if node.op == "loss":  # (a, y)
        return float(loss.value(parts[0], parts[1])[0])
    if node.op == "fused_loss":  # (z, y): the form the engine uses where it is stabler
        assert loss.fused_value is not None
        return float(loss.fused_value(parts[0], parts[1])[0])
    if node.op == "dloss":
        return float(loss.gradient(parts[0], parts[1])[0, node.index])
    if node.op == "fused_dz":  # (z, a, y)
        assert loss.fused_gradient is not None
        return float(loss.fused_gradient(parts[0], parts[1], parts[2])[0, node.index])
    from chainrule.engine.functions import softmax_backward  # (a, dL/da)

    return float(softmax_backward(parts[0], parts[1])[0, node.index])


def fused(net: Network) -> bool:
    """Whether the engine differentiates the loss and the output activation together."""
    return net.loss.fused_activation == net.output_layer.activation.name and net.loss.fused_gradient is not None


def build(
    net: Network, examples: np.ndarray | tuple[int, ...], reduction: Reduction | None = None, fuse: bool = True
) -> StepGraph:
    """The graph of one update of ``net`` on the given examples (a batch), under its training settings.

    ``fuse=False`` works the loss and ∂L/∂z from ŷ even where the engine fuses them with the output
    activation (as a person does who writes L = −ln ŷ from a rounded ŷ); the values are the same."""
    idx = tuple(int(i) for i in examples)
    red: Reduction = reduction or net.training.reduction
    n = len(idx)
    scale = 1.0 / n if red == "mean" else 1.0
    nodes: dict[str, Node] = {}

    def add(node: Node) -> None:
        nodes[node.name] = node

    for name, value in net.parameters().items():
        add(Node(name, "given", value=value))
    for k, row in enumerate(idx):
        s = "" if n == 1 else f"#{k + 1}"
        for i, name in enumerate(net.input_names):
            add(Node(name + s, "given", value=float(net.x[row, i])))
        for j, name in enumerate(net.target_names()):
            add(Node(name + s, "given", value=float(net.y[row, j])))
        _forward(net, s, add, fuse)
        _backward(net, s, scale, add, fuse)
    if n > 1:
        add(Node("loss", "sum", args=tuple(f"loss#{k + 1}" for k in range(n)), coef=scale))
    _gradients(net, n, add)
    update_nodes(net, add)
    return StepGraph(net, idx, red, nodes)


def loss_term_names(net: Network) -> list[str]:
    """``loss_<output>``, each output's share of one example's loss (E_o1, E_o2 in published examples):
    for a network of several outputs and a loss that is a sum of one term per output."""
    out = net.output_layer
    if out.units < 2 or not net.loss.term_plain:
        return []
    return [f"loss_{n}" for n in out.neuron_names]


def loss_term_scale(net: Network) -> float:
    """A mean over the outputs (mse) gives each output 1/m of its term; a sum gives it all."""
    return 1.0 / net.output_layer.units if "{m}" in net.loss.outer_plain else 1.0


def _forward(net: Network, s: str, add: Add, fuse: bool = True) -> None:
    sending = [name + s for name in net.input_names]
    for li, layer in enumerate(net.layers):
        zs = tuple(f"z_{n}{s}" for n in layer.neuron_names)
        for j in range(layer.units):
            bias: tuple[str, ...] = ()
            if layer.bias_mode == "shared":
                bias = (layer.bias_names[0],)
            elif layer.bias_mode == "neuron":
                bias = (layer.bias_names[j],)
            add(Node(zs[j], "sum", pairs=tuple(zip(layer.weight_names[j], sending, strict=True)), args=bias))
        for j, n in enumerate(layer.neuron_names):
            args = zs if not layer.activation.elementwise else (zs[j],)
            add(Node(f"a_{n}{s}", "act", args=args, layer=li, index=0 if len(args) == 1 else j, alpha=layer.alpha_name))
            add(Node(f"da_{n}/dz_{n}{s}", "deriv", args=(zs[j], f"a_{n}{s}"), layer=li, alpha=layer.alpha_name))
        sending = [f"a_{n}{s}" for n in layer.neuron_names]
    for name, pair in jacobian_names(
        net.output_layer.neuron_names, net.output_layer.activation.name, s
    ).items():  # a softmax's ∂a_j/∂z_i = −a_j·a_i
        add(Node(name, "product", args=pair, coef=-1.0))
    out = net.output_layer.neuron_names
    a = tuple(f"a_{n}{s}" for n in out)
    y = tuple(f"y_{n}{s}" for n in out)
    z = tuple(f"z_{n}{s}" for n in out)
    use_z = fuse and net.loss.fused_activation == net.output_layer.activation.name and net.loss.fused_value is not None
    add(Node(f"loss{s}", "fused_loss", args=(*z, *y)) if use_z else Node(f"loss{s}", "loss", args=(*a, *y)))
    scale = loss_term_scale(net)
    for j, name in enumerate(loss_term_names(net)):
        add(Node(name + s, "loss_term", args=(a[j], y[j]), coef=scale))


def _backward(net: Network, s: str, scale: float, add: Add, fuse: bool = True) -> None:
    last = len(net.layers) - 1
    out = net.layers[last]
    a = tuple(f"a_{n}{s}" for n in out.neuron_names)
    y = tuple(f"y_{n}{s}" for n in out.neuron_names)
    z = tuple(f"z_{n}{s}" for n in out.neuron_names)
    d_a = tuple(f"dL/da_{n}{s}" for n in out.neuron_names)
    for j, n in enumerate(out.neuron_names):
        add(Node(d_a[j], "dloss", args=(*a, *y), index=j, coef=scale))
        if fuse and fused(net):
            add(Node(f"dL/dz_{n}{s}", "fused_dz", args=(*z, *a, *y), index=j, coef=scale))
        elif not out.activation.elementwise:
            add(Node(f"dL/dz_{n}{s}", "softmax_dz", args=(*a, *d_a), index=j))
        else:
            add(Node(f"dL/dz_{n}{s}", "product", args=(d_a[j], f"da_{n}/dz_{n}{s}")))
    for li in range(last - 1, -1, -1):
        layer, nxt = net.layers[li], net.layers[li + 1]
        for j, n in enumerate(layer.neuron_names):
            pairs = tuple((nxt.weight_names[m][j], f"dL/dz_{nm}{s}") for m, nm in enumerate(nxt.neuron_names))
            add(Node(f"dL/da_{n}{s}", "sum", pairs=pairs))
            add(Node(f"dL/dz_{n}{s}", "product", args=(f"dL/da_{n}{s}", f"da_{n}/dz_{n}{s}")))


def _gradients(net: Network, n: int, add: Add) -> None:
    """∂L/∂θ per example (suffix #k when the batch has several) and, for a batch, their sum."""
    per: dict[str, list[str]] = {}
    for k in range(n):
        s = "" if n == 1 else f"#{k + 1}"
        sending = [name + s for name in net.input_names]
        for layer in net.layers:
            dz = [f"dL/dz_{m}{s}" for m in layer.neuron_names]
            for j in range(layer.units):
                for i, w in enumerate(layer.weight_names[j]):
                    per.setdefault(w, []).append(f"dL/d{w}{s}")
                    add(Node(f"dL/d{w}{s}", "product", args=(dz[j], sending[i])))
            if layer.bias_mode == "shared":
                b = layer.bias_names[0]
                per.setdefault(b, []).append(f"dL/d{b}{s}")
                add(Node(f"dL/d{b}{s}", "sum", args=tuple(dz)))
            elif layer.bias_mode == "neuron":
                for j, b in enumerate(layer.bias_names):
                    per.setdefault(b, []).append(f"dL/d{b}{s}")
                    add(Node(f"dL/d{b}{s}", "sum", args=(dz[j],)))
            if layer.alpha_name:
                per.setdefault(layer.alpha_name, []).append(f"dL/d{layer.alpha_name}{s}")
                args = tuple(x for m in layer.neuron_names for x in (f"dL/da_{m}{s}", f"z_{m}{s}", f"a_{m}{s}"))
                add(
                    Node(
                        f"dL/d{layer.alpha_name}{s}",
                        "alpha",
                        args=args,
                        layer=net.layers.index(layer),
                        alpha=layer.alpha_name,
                    )
                )
            sending = [f"a_{m}{s}" for m in layer.neuron_names]
    if n > 1:
        for p, parts in per.items():
            add(Node(f"dL/d{p}", "sum", args=tuple(parts)))


def with_coef(node: Node, factor: float) -> Node:
    return replace(node, coef=node.coef * factor)
