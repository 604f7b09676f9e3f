"""The known mistakes of hand-worked backpropagation, each as a small rewrite of the step graph.

A mistake changes how a few named numbers are computed (a factor left out, a sign flipped, the
wrong input read); evaluating the rewritten graph gives every number a person makes who makes
that mistake and nothing else. The checker compares those with what was written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from chainrule.record.graph import Node, StepGraph, build, change_names, with_coef
from chainrule.record.names import without_example

Rewrite = Callable[[StepGraph], StepGraph]

# Stable ids, as the JSON report names them.
MISTAKE_IDS = (
    "half_factor",
    "activation_derivative_dropped",
    "z_instead_of_a",
    "updated_weights_in_backprop",
    "learning_rate",
    "sign",
    "shared_bias_one_path",
    "bias_omitted",
    "sum_vs_mean",
    "momentum_dropped",
    "velocity_ema",
    "bias_correction_omitted",
    "rounding",
    "rounded_too_early",
    "too_coarse",
    "propagated",
    "slip",
)


@dataclass(frozen=True)
class Mistake:
    """One way to go wrong: its stable id, which form it takes, and where in the network."""

    id: str
    kind: str = ""  # the form: "dropped" or "twice", "update" or "gradient", ...
    where: str = ""  # the layer, neuron or bias it concerns
    rewrite: Rewrite = field(default=lambda g: g, compare=False, repr=False)


def _base(name: str) -> str:
    return without_example(name)


def _each(g: StepGraph, bases: set[str]) -> Iterator[Node]:
    """The nodes named by these base names, for every example of the batch (suffix #k)."""
    return (node for name, node in g.nodes.items() if _base(name) in bases)


def _swap(names: tuple[str, ...], old: str, new: str) -> tuple[str, ...]:
    """Names with the base ``old`` read as ``new`` instead (keeping each example's suffix)."""
    return tuple(new + n[len(old) :] if _base(n) == old else n for n in names)


def half_factor(factor: float, gradient_only: bool = False) -> Rewrite:
    """L (and its per-output terms) and ∂L/∂ŷ multiplied by ``factor``: 2 when the ½ is dropped, ½ when
    it is applied twice (or put in a loss that has none); with ``gradient_only``, ∂L/∂ŷ alone."""

    def rewrite(g: StepGraph) -> StepGraph:
        ops = ("dloss", "fused_dz") if gradient_only else ("loss", "fused_loss", "loss_term", "dloss", "fused_dz")
        return g.rewritten(*(with_coef(n, factor) for n in g.nodes.values() if n.op in ops))

    return rewrite


# The factor mistakes each squared error invites, by whether the loss has a ½: (kind, factor, ∂L/∂ŷ only).
HALF_FACTORS = {
    "half_squared_error": (("dropped", 2.0, False), ("twice", 0.5, False), ("gradient_doubled", 2.0, True)),
    "squared_error": (("added", 0.5, False), ("gradient_halved", 0.5, True)),
    "mse": (("added", 0.5, False), ("gradient_halved", 0.5, True)),
}


def derivative_dropped(layer: int) -> Rewrite:
    """∂L/∂z = ∂L/∂a in one layer: the factor f′(z) left out of the chain."""

    def rewrite(g: StepGraph) -> StepGraph:
        neurons = g.net.layers[layer].neuron_names
        nodes = _each(g, {f"dL/dz_{n}" for n in neurons})
        return g.rewritten(*(Node(n.name, "sum", args=("dL/da" + n.name[len("dL/dz") :],)) for n in nodes))

    return rewrite


def z_for_a(layer: int, site: str) -> Rewrite:
    """z read where a belongs (or a where z belongs), at one site of one layer.

    ``forward``: the next layer sums this layer's z (and its weight gradients read z);
    ``gradient``: only ∂z/∂w of the next layer reads z; ``derivative``: f′ written in a evaluated
    with z (σ′ as z(1 − z)); ``derivative_at_a``: f′ evaluated at a instead of z; ``output``: the
    loss taken of z_out instead of ŷ.
    """

    def rewrite(g: StepGraph) -> StepGraph:
        net = g.net
        lay = net.layers[layer]
        changed: list[Node] = []
        if site in ("forward", "gradient"):
            above = net.layers[layer + 1]
            targets = {f"dL/d{w}" for row in above.weight_names for w in row}
            if site == "forward":
                targets |= {f"z_{m}" for m in above.neuron_names}
            for node in _each(g, targets):
                pairs, args = node.pairs, node.args
                for n in lay.neuron_names:
                    pairs = tuple((p, _swap((q,), f"a_{n}", f"z_{n}")[0]) for p, q in pairs)
                    args = _swap(args, f"a_{n}", f"z_{n}")
                changed.append(replace(node, pairs=pairs, args=args))
        elif site in ("derivative", "derivative_at_a"):
            for node in _each(g, {f"da_{n}/dz_{n}" for n in lay.neuron_names}):
                if site == "derivative":
                    changed.append(replace(node, args=(node.args[0], node.args[0])))
                else:
                    changed.append(replace(node, at_a=True))
        else:  # output: ŷ replaced by z_out in the loss and its gradient
            for node in g.nodes.values():
                if node.op in ("loss", "fused_loss", "dloss", "fused_dz"):
                    args = node.args
                    for n in lay.neuron_names:
                        args = _swap(args, f"a_{n}", f"z_{n}")
                    if node.op == "fused_loss":  # (z, y) is already the loss of ŷ = σ(z): read ŷ as z
                        changed.append(replace(node, op="loss"))
                    elif node.op != "fused_dz":  # a fused ∂L/∂z has no ŷ to misread
                        changed.append(replace(node, args=args))
        return g.rewritten(*changed)

    return rewrite


def updated_weights(g: StepGraph) -> StepGraph:
    """∂L/∂a of each hidden neuron summed through weights already updated in this step (w5_new for w5)."""
    changed = [
        replace(node, pairs=tuple((f"{w}_new", d) for w, d in node.pairs))
        for node in g.nodes.values()
        if node.op == "sum" and node.pairs and _base(node.name).startswith("dL/da_")
    ]
    return g.rewritten(*changed)


def sign(site: str) -> Rewrite:
    """``update``: θ + η·∂L/∂θ (+ η·m̂/(√ŝ + ε) with Adam); ``gradient``: ∂L/∂ŷ taken as y − ŷ, so every gradient flips."""

    def rewrite(g: StepGraph) -> StepGraph:
        if site == "update":
            changes = set(change_names(g.net).values())
            # Adam's and RMSProp's θ_new (op adam) too: θ + η·m̂/(√ŝ + ε); their Δθ reads θ_new
            flipped = [n for n in g.nodes.values() if n.op in ("update", "adam") or n.name in changes]
            return g.rewritten(*(with_coef(n, -1.0) for n in flipped))
        return g.rewritten(*(with_coef(n, -1.0) for n in g.nodes.values() if n.op in ("dloss", "fused_dz")))

    return rewrite


def bias_one_path(layer: int, neuron: int) -> Rewrite:
    """A shared bias's gradient taken through one neuron only, instead of summed over the layer."""

    def rewrite(g: StepGraph) -> StepGraph:
        lay = g.net.layers[layer]
        b, n = lay.bias_names[0], lay.neuron_names[neuron]
        nodes = [nd for nd in _each(g, {f"dL/d{b}"}) if nd.args and _base(nd.args[0]).startswith("dL/dz_")]
        return g.rewritten(*(replace(nd, args=tuple(a for a in nd.args if _base(a) == f"dL/dz_{n}")) for nd in nodes))

    return rewrite


def bias_omitted(layer: int, neuron: int | None) -> Rewrite:
    """z = Σ w·a without its bias, for one neuron or (neuron None) the whole layer."""

    def rewrite(g: StepGraph) -> StepGraph:
        names = g.net.layers[layer].neuron_names
        chosen = names if neuron is None else [names[neuron]]
        return g.rewritten(*(replace(nd, args=()) for nd in _each(g, {f"z_{n}" for n in chosen})))

    return rewrite


def other_reduction(g: StepGraph) -> StepGraph:
    """The batch's loss and gradients summed where the file says mean, or averaged where it says sum."""
    return build(g.net, g.examples, "sum" if g.reduction == "mean" else "mean")


def other_reduction_in_gradients(g: StepGraph) -> StepGraph:
    """The loss reduced as the file says, its gradients the other way: 1/N forgotten (or added) in ∂L/∂ŷ only."""
    other = build(g.net, g.examples, "sum" if g.reduction == "mean" else "mean")
    kept = [n for n in g.nodes.values() if n.op in ("loss", "fused_loss", "loss_term") or n.name == "loss"]
    return other.rewritten(*kept)


def momentum_dropped(g: StepGraph) -> StepGraph:
    """v_θ = g where v_θ = μ·v_θ_prev + g belongs: the momentum term left out of the velocity (and out of
    Nesterov's u_θ = g + μ·v_θ, so the step is plain gradient descent's)."""
    return g.rewritten(
        *(replace(n, pairs=()) for n in g.nodes.values() if n.op == "sum" and n.pairs and n.pairs[0][0] == "momentum")
    )


def velocity_ema(g: StepGraph) -> StepGraph:
    """v_θ = μ·v_θ_prev + (1 − μ)·g, the running average (another course's convention, with μ as its β)
    where the file's v_θ = μ·v_θ_prev + g belongs: every velocity comes out (1 − μ) times too small at first."""
    velocities = [n for n in g.nodes.values() if n.op == "sum" and n.pairs and n.pairs[0][0] == "momentum" and n.args]
    velocities = [n for n in velocities if _base(n.name).startswith("v_")]  # not Nesterov's u_θ = g + μ·v_θ
    mu = g.net.training.optimizer.momentum
    return g.rewritten(
        *(Node(n.name, "average", args=(n.pairs[0][1], n.args[0]), coef=mu, index=1) for n in velocities)
    )


def bias_correction_omitted(g: StepGraph) -> StepGraph:
    """Adam's m̂ = m and ŝ = s: the factors 1/(1 − β₁ᵗ) and 1/(1 − β₂ᵗ) left out."""
    hats = [n for n in g.nodes.values() if n.op == "product" and _base(n.name).startswith(("mhat_", "shat_"))]
    return g.rewritten(*(replace(n, coef=1.0) for n in hats))


def with_rate(g: StepGraph, rate: float) -> StepGraph:
    """The step with learning rate ``rate`` in every update (θ_new and Δθ) instead of the file's."""
    changes = set(change_names(g.net).values())
    nodes = [n for n in g.nodes.values() if n.op == "update" or (n.name in changes and n.args)]
    return g.rewritten(*(replace(n, coef=-rate) for n in nodes))


def catalogue(g: StepGraph) -> list[Mistake]:
    """Every mistake that can happen in this step's network (learning rate and rounding are searched separately)."""
    net = g.net
    out = [
        Mistake("half_factor", kind, "", half_factor(factor, only))
        for kind, factor, only in HALF_FACTORS.get(net.loss.name, ())
    ]
    last = len(net.layers) - 1
    for li, layer in enumerate(net.layers):
        out.append(Mistake("activation_derivative_dropped", "", layer.name, derivative_dropped(li)))
        if li < last:
            out.append(Mistake("z_instead_of_a", "forward", layer.name, z_for_a(li, "forward")))
            out.append(Mistake("z_instead_of_a", "gradient", layer.name, z_for_a(li, "gradient")))
        if layer.activation.elementwise:
            out.append(Mistake("z_instead_of_a", "derivative", layer.name, z_for_a(li, "derivative")))
            out.append(Mistake("z_instead_of_a", "derivative_at_a", layer.name, z_for_a(li, "derivative_at_a")))
        if layer.bias_mode == "shared" and layer.units > 1:
            for j, n in enumerate(layer.neuron_names):
                out.append(Mistake("shared_bias_one_path", "", n, bias_one_path(li, j)))
        if layer.bias_mode != "none":
            out.append(Mistake("bias_omitted", "layer", layer.name, bias_omitted(li, None)))
            if layer.units > 1:
                for j, n in enumerate(layer.neuron_names):
                    out.append(Mistake("bias_omitted", "neuron", n, bias_omitted(li, j)))
    out.append(Mistake("z_instead_of_a", "output", net.output_layer.name, z_for_a(last, "output")))
    if last > 0:
        out.append(Mistake("updated_weights_in_backprop", "", net.layers[last - 1].name, updated_weights))
    out.append(Mistake("sign", "update", "", sign("update")))
    out.append(Mistake("sign", "gradient", "", sign("gradient")))
    if len(g.examples) > 1:
        kind = "sum" if g.reduction == "mean" else "mean"
        out.append(Mistake("sum_vs_mean", kind, "", other_reduction))
        out.append(Mistake("sum_vs_mean", f"{kind}_gradients", "", other_reduction_in_gradients))
    optimizer = net.training.optimizer.name
    if optimizer in ("momentum", "nesterov"):
        out.append(Mistake("momentum_dropped", "", "", momentum_dropped))
        out.append(Mistake("velocity_ema", "", "", velocity_ema))
    if optimizer == "adam":
        out.append(Mistake("bias_correction_omitted", "", "", bias_correction_omitted))
    return out
