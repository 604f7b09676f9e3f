"""The update's part of the step graph (record.graph): θ_new and Δθ under the file's optimizer.

sgd: θ_new = θ − η·g, Δθ = −η·g. Momentum: v_θ = μ·v_θ_prev + g (μ a given named ``momentum``,
v_θ_prev the velocity the network carries), θ_new = θ − η·v_θ, Δθ = −η·v_θ. Adam: m_θ and s_θ the
averages of g and g² from m_θ_prev and s_θ_prev, m̂_θ = m_θ / (1 − β₁ᵗ), ŝ_θ = s_θ / (1 − β₂ᵗ),
θ_new = θ − η·m̂_θ / (√ŝ_θ + ε), Δθ = θ_new − θ. RMSProp: s_θ the average of g² (ρ its β) from
s_θ_prev, θ_new = θ − η·g / (√s_θ + ε) (the node Adam's update uses, with g for m̂ and s for ŝ).
Nesterov: v_θ as momentum's, then u_θ = g + μ·v_θ, the direction it moves against, θ_new = θ − η·u_θ,
Δθ = −η·u_θ. A frozen θ keeps its value (g = 0 for its state).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from chainrule.engine.network import Network
from chainrule.engine.optimizers import corrections
from chainrule.errors import ChainruleError
from chainrule.record.nodes import Add, Node

CHECKED = ("sgd", "momentum", "nesterov", "rmsprop", "adam")  # the optimizers whose updates this graph holds


def update_nodes(net: Network, add: Add) -> None:
    """Every parameter's θ_new and Δθ (and the optimizer's state on the way)."""
    frozen, eta, s = set(net.training.freeze), net.training.learning_rate, net.training.optimizer
    if s.name not in CHECKED:
        expected = ", ".join(f'"{o}"' for o in CHECKED)
        raise ChainruleError(f'{net.source}: training.optimizer: check reads {expected} steps, got "{s.name}"')
    if s.name in ("momentum", "nesterov"):
        add(Node("momentum", "given", value=s.momentum))
    if s.name == "adam":  # t and its corrections 1 − β₁ᵗ, 1 − β₂ᵗ, as the record names them
        t = net.updates_made + 1
        for name, value in zip(("adam_t", "adam_c1", "adam_c2"), (float(t), *corrections(s, t)), strict=True):
            add(Node(name, "given", value=value))
    changes = change_names(net)
    for p in net.parameter_names():
        g = None if p in frozen else f"dL/d{p}"
        state = net.state.get(p, {})
        if s.name in ("adam", "rmsprop"):
            (_adam if s.name == "adam" else _rmsprop)(net, p, g, state, add)
            if p in changes:
                add(Node(changes[p], "change", args=(f"{p}_new", p)))
            continue
        by = f"dL/d{p}"
        if s.name in ("momentum", "nesterov"):
            by = f"v_{p}"
            add(Node(f"{by}_prev", "given", value=state.get("v", 0.0)))
            add(Node(by, "sum", pairs=(("momentum", f"{by}_prev"),), args=(g,) if g else ()))
        if s.name == "nesterov":  # u_θ = g + μ·v_θ: the gradient plus the look-ahead of the new velocity
            add(Node(f"u_{p}", "sum", pairs=(("momentum", by),), args=(g,) if g else ()))
            by = f"u_{p}"
        add(Node(f"{p}_new", "update", args=(p, by), coef=-eta) if g else Node(f"{p}_new", "sum", args=(p,)))
        if p in changes:  # Δθ, as published examples write it
            add(Node(changes[p], "product", args=(by,), coef=-eta) if g else Node(changes[p], "sum"))


def _adam(net: Network, p: str, g: str | None, state: Mapping[str, float], add: Add) -> None:
    s, t = net.training.optimizer, net.updates_made + 1
    for slot, beta, power in (("m", s.beta1, 1), ("s", s.beta2, 2)):
        add(Node(f"{slot}_{p}_prev", "given", value=state.get(slot, 0.0)))
        if g:
            add(Node(f"{slot}_{p}", "average", args=(f"{slot}_{p}_prev", g), coef=beta, index=power))
        else:  # a frozen θ: its state stays β·0 = 0
            add(Node(f"{slot}_{p}", "product", args=(f"{slot}_{p}_prev",), coef=beta))
        add(Node(f"{slot}hat_{p}", "product", args=(f"{slot}_{p}",), coef=1.0 / corrections(s, t)[power - 1]))
    if g:
        args = (p, f"mhat_{p}", f"shat_{p}")
        add(Node(f"{p}_new", "adam", args=args, coef=-net.training.learning_rate, value=s.eps))
    else:
        add(Node(f"{p}_new", "sum", args=(p,)))


def _rmsprop(net: Network, p: str, g: str | None, state: Mapping[str, float], add: Add) -> None:
    rho = net.training.optimizer.rho
    add(Node(f"s_{p}_prev", "given", value=state.get("s", 0.0)))
    if g:
        add(Node(f"s_{p}", "average", args=(f"s_{p}_prev", g), coef=rho, index=2))
        eps = net.training.optimizer.eps
        add(Node(f"{p}_new", "adam", args=(p, g, f"s_{p}"), coef=-net.training.learning_rate, value=eps))
    else:
        add(Node(f"s_{p}", "product", args=(f"s_{p}_prev",), coef=rho))
        add(Node(f"{p}_new", "sum", args=(p,)))


def optimizer_op(node: Node, v: Mapping[str, float]) -> float:
    """The value of an optimizer's node (see Node): an average, Adam's update or a difference."""
    if node.op == "average":
        prev, x = (v[a] for a in node.args)
        return node.coef * prev + ((1.0 - node.coef) * x * x if node.index == 2 else (1.0 - node.coef) * x)
    if node.op == "adam":
        theta, mhat, shat = (v[a] for a in node.args)
        return theta + node.coef * mhat / (math.sqrt(shat) + node.value)
    return v[node.args[0]] - v[node.args[1]]


def change_names(net: Network) -> dict[str, str]:
    """The name of each parameter's change in the update, Δθ = θ_new − θ: ``dw5`` for w5, ``db1`` for b1
    (none where that name is already taken by an input, a target or another parameter)."""
    taken = {*net.input_names, *net.target_names(), *net.parameter_names()}
    return {p: f"d{p}" for p in net.parameter_names() if f"d{p}" not in taken}
