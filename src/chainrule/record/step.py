"""The step record: every number of one update, by name, and the chain of factors behind each gradient.

This is the contract between computing and showing. `explain_step` runs the engine once
(forward, loss, backward, update) and records plain data: views format it, they never compute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from chainrule.engine import display, limits
from chainrule.engine.network import Backward, Forward, Network
from chainrule.engine.optimizers import Settings
from chainrule.engine.overflow import require_finite
from chainrule.errors import ChainruleError

# The chain types live with the code that builds them; the record's readers import them from here.
from chainrule.record import exact
from chainrule.record.chains import MAX_PATHS as MAX_PATHS
from chainrule.record.chains import Chain, chains_of
from chainrule.record.chains import Factor as Factor
from chainrule.record.chains import Path as Path
from chainrule.record.derivations import OutputChain, dead_units, exponentials, jacobian_values, output_chains
from chainrule.record.graph import change_names, loss_term_names, loss_term_scale
from chainrule.record.optimizer_step import optimizer_values


@dataclass(frozen=True)
class Delta:
    """δ_j = ∂L/∂z_j for one neuron and example, as the delta form writes it.

    Hidden: δ_j = f'(z_j) · Σ_k w_kj δ_k. Output: δ = ∂L/∂a · f'(z), or the fused/softmax value.
    """

    neuron: str
    d_a: float  # ∂L/∂a_j
    derivative: float  # f'(z_j) (the Jacobian's diagonal for softmax)
    terms: tuple[tuple[str, str, float, float], ...]  # (weight name, downstream neuron, w, δ_k)
    value: float
    how: Literal["hidden", "output", "fused", "softmax"]
    parts: tuple[float, ...] = ()  # the numbers f'(z_j) is the product of, as the registry writes it (a, 1 − a)


@dataclass(frozen=True)
class NeuronSum:
    """z_j = Σ_i w_ji a_i + b: the names in one neuron's weighted sum."""

    neuron: str
    layer: str
    terms: tuple[tuple[str, str], ...]  # (weight name, sending value's name: x1 or a_h1)
    bias: str | None
    activation: str
    alpha: str | None = None  # a named (learnable) α, or None


@dataclass(frozen=True)
class Update:
    param: str
    old: float
    gradient: float
    new: float
    frozen: bool

    @property
    def change(self) -> float:
        """new − old: −η·∂L/∂θ for plain gradient descent."""
        return self.new - self.old


@dataclass(frozen=True)
class LayerInfo:
    name: str
    activation: str
    neurons: tuple[str, ...]
    bias_mode: str
    bias_names: tuple[str, ...]
    alpha: float | None
    alpha_name: str | None


@dataclass
class StepRecord:
    """Everything that happened in one update step, number by number."""

    title: str
    source: str
    inputs: tuple[str, ...]
    layers: tuple[LayerInfo, ...]
    loss: str
    reduction: str
    learning_rate: float
    optimizer: Settings
    batch_kind: str
    examples: tuple[int, ...]  # 0-based indices into the file's examples
    fused: bool
    sums: tuple[NeuronSum, ...]
    values: dict[str, float]
    chains: dict[str, tuple[Chain, ...]] = field(default_factory=dict)  # per parameter, one per example
    deltas: tuple[tuple[Delta, ...], ...] = ()  # per example, every neuron
    updates: tuple[Update, ...] = ()
    # Hand mode (hand.py): every value above rounded to `hand` decimals as a person works it,
    # with the exact values beside them; None for an exact step.
    hand: int | None = None
    exact: dict[str, float] | None = None
    # Softmax layers: e^z of each neuron (by its z's name, z_out1#2) and their sum (by the layer's
    # name, Σ_out#2), so a softmax is shown as the quotient it is; empty where e^z overflows.
    exponentials: dict[str, float] = field(default_factory=dict)
    # The sums are exact in the file's decimals (record.exact). Where float64 training's z lies across
    # a kink from the exact one (ReLU′ 1 against 0), other_side holds float64's z by the z's name
    # (z_h1#2) and float64 every value of the step as float64 training computes it; both empty elsewhere.
    other_side: dict[str, float] = field(default_factory=dict)
    float64: dict[str, float] = field(default_factory=dict)
    # The derivations' numbers (record.derivations): each output's ∂L/∂z through the Jacobian, the
    # units no gradient flows through, and the mean's 1/N.
    output_chains: tuple[OutputChain, ...] = ()
    dead: tuple[str, ...] = ()
    mean_factor: float = 1.0

    def suffix(self, k: int) -> str:
        """The name suffix of the k-th example of the batch ('' when the batch has one example)."""
        return "" if len(self.examples) == 1 else f"#{k + 1}"

    @property
    def output_neurons(self) -> tuple[str, ...]:
        return self.layers[-1].neurons

    def _repr_markdown_(self) -> str | None:
        """In Jupyter: the worked-example document of this step. (once chainrule.views.notebook registered it)."""
        return display.show(self, "markdown")

    def _repr_html_(self) -> str | None:
        """In Jupyter: the worked-example document of this step, as HTML (once chainrule.views.notebook registered it)."""
        return display.show(self, "html")

    def value(self, name: str) -> float:
        try:
            return self.values[name]
        except KeyError:
            raise ChainruleError(f"no value named {name!r} in this step") from None


def explain_step(net: Network, example: int = 0) -> StepRecord:
    """Run one update under the network's training settings and record every number.

    ``example`` picks the update within the epoch: with batch = "online" the example, with a
    mini-batch the batch (0-based); "full" has only one.
    """
    return step_and_next(net, example)[0]


def explain_steps(net: Network, example: int = 0, count: int = 1) -> list[StepRecord]:
    """`count` updates one after another, starting with update `example` of the epoch (0-based).

    The updates before `example` are made first, as training makes them, so the first record
    explains the update that really happens at that point of the epoch (from the parameters the
    earlier updates left); later ones wrap into the next epoch.
    """
    limits.EXPLAINED.check(net.parameter_count() * count, f"{net.source}: parameters × updates explained")
    updates = len(net.batches())
    if not 0 <= example < updates:
        raise ChainruleError(f"--example {example + 1}: expected 1 to {updates} (the updates in one epoch)")
    net = advanced(net, example)
    records = []
    for i in range(count):
        record, net = step_and_next(net, (example + i) % updates)
        records.append(record)
    return records


def advanced(net: Network, updates: int) -> Network:
    """The network after its first `updates` updates of the epoch, made in order as the explained
    steps make them (nothing recorded), so that --example 2 explains what --steps 2 does second."""
    for idx in net.batches()[:updates]:
        net = worked(net, net.x[idx], net.y[idx])[3]
    return net


def worked(net: Network, x: np.ndarray, y: np.ndarray) -> tuple[Forward, Forward, Backward, Network]:
    """One update as explained: float64's forward pass (as training computes it), the exact one
    (record.exact; the same where the step is too large), its backward pass and the network after."""
    with np.errstate(all="ignore"):  # a value beyond float64 is reported in one line, not warned about
        binary = net.forward(x)
        if not exact.applies(net, len(x)):
            back = net.backward(binary, y)
            return binary, binary, back, net.updated(back)
        fwd = exact.forward(net, x)
        back = exact.backward(net, fwd, y)
        return binary, fwd, back, exact.updated(net, back)


def step_and_next(net: Network, example: int = 0) -> tuple[StepRecord, Network]:
    """One step's record and the network after its update."""
    batches = net.batches()
    if not 0 <= example < len(batches):
        raise ChainruleError(f"--example {example + 1}: expected 1 to {len(batches)} (the updates in one epoch)")
    idx = batches[example]
    x, y = net.x[idx], net.y[idx]
    limits.EXPLAINED.check(net.parameter_count(), f"{net.source}: parameters explained")
    binary, fwd, back, new = worked(net, x, y)
    require_finite(net, fwd, back, y, example)
    record = StepRecord(
        title=net.title,
        source=net.source,
        inputs=tuple(net.input_names),
        layers=tuple(
            LayerInfo(
                layer.name,
                layer.activation.name,
                tuple(layer.neuron_names),
                layer.bias_mode,
                tuple(layer.bias_names),
                layer.alpha_value() if layer.alpha.size else None,
                layer.alpha_name,
            )
            for layer in net.layers
        ),
        loss=net.loss.name,
        reduction=net.training.reduction,
        learning_rate=net.training.learning_rate,
        optimizer=net.training.optimizer,
        batch_kind=str(net.training.batch),
        examples=tuple(int(i) for i in idx),
        fused=back.fused,
        sums=_sums(net),
        values={},
    )
    record.values = _values(net, record, fwd, back, y, new)
    _float64_side(net, record, fwd, binary, y)
    suffixes = [record.suffix(k) for k in range(len(idx))]
    record.exponentials = exponentials(net, fwd, suffixes)
    record.deltas = tuple(_deltas(net, record, fwd, back, k) for k in range(len(idx)))
    out = record.layers[-1]
    record.output_chains = tuple(
        c for s in suffixes for c in output_chains(out.neurons, out.activation, record.values, s, back.fused)
    )
    record.dead = dead_units(((la.neurons, la.activation) for la in record.layers), record.values, suffixes)
    record.mean_factor = 1.0 / len(idx) if net.training.reduction == "mean" else 1.0
    record.chains = chains_of(net, record.values, len(record.examples), back.fused, fwd)
    grads = net.gradients(back)
    old, after = net.parameters(), new.parameters()
    frozen = set(net.training.freeze)
    record.updates = tuple(Update(p, old[p], grads[p], after[p], p in frozen) for p in net.parameter_names())
    return record, new


def _float64_side(net: Network, rec: StepRecord, fwd: Forward, binary: Forward, y: np.ndarray) -> None:
    """Fill rec.other_side and rec.float64 where float64 training sees another side of a kink."""
    if fwd is binary:
        return
    for li, k, j, z in exact.other_side(net, fwd, binary):
        rec.other_side[f"z_{net.layers[li].neuron_names[j]}{rec.suffix(k)}"] = z
    if rec.other_side:
        with np.errstate(all="ignore"):
            back = net.backward(binary, y)
            rec.float64 = _values(net, rec, binary, back, y, net.updated(back))


def _sums(net: Network) -> tuple[NeuronSum, ...]:
    sums = []
    sending = list(net.input_names)
    for layer in net.layers:
        for j, neuron in enumerate(layer.neuron_names):
            bias = None
            if layer.bias_mode == "shared":
                bias = layer.bias_names[0]
            elif layer.bias_mode == "neuron":
                bias = layer.bias_names[j]
            terms = tuple(zip(layer.weight_names[j], sending, strict=True))
            sums.append(NeuronSum(neuron, layer.name, terms, bias, layer.activation.name, layer.alpha_name))
        sending = [f"a_{n}" for n in layer.neuron_names]
    return tuple(sums)


def _values(
    net: Network, rec: StepRecord, fwd: Forward, back: Backward, y: np.ndarray, new: Network
) -> dict[str, float]:
    v: dict[str, float] = {}
    for k in range(len(rec.examples)):
        s = rec.suffix(k)
        for i, name in enumerate(net.input_names):
            v[name + s] = float(fwd.x[k, i])
        for j, name in enumerate(net.target_names()):
            v[name + s] = float(y[k, j])
    v.update(net.parameters())
    losses = net.example_losses(fwd, y)
    for k in range(len(rec.examples)):
        s = rec.suffix(k)
        for li, layer in enumerate(net.layers):
            z, a = fwd.z[li][k], fwd.a[li + 1][k]
            deriv = layer.activation.derivative(z, a, layer.alpha_value())
            for j, n in enumerate(layer.neuron_names):
                v[f"z_{n}{s}"] = float(z[j])
                v[f"a_{n}{s}"] = float(a[j])
                v[f"da_{n}/dz_{n}{s}"] = float(deriv[j])
        v |= jacobian_values(net.output_layer.neuron_names, net.output_layer.activation.name, v, s)
        if s:
            v[f"loss{s}"] = float(losses[k])
        v |= _loss_terms(net, fwd.a[-1][k], y[k], s)
    v["loss"] = net.batch_loss(fwd, y)
    for k in range(len(rec.examples)):
        s = rec.suffix(k)
        for li, layer in enumerate(net.layers):
            for j, n in enumerate(layer.neuron_names):
                v[f"dL/da_{n}{s}"] = float(back.d_a[li][k, j])
                v[f"dL/dz_{n}{s}"] = float(back.d_z[li][k, j])
    for name, g in net.gradients(back).items():
        v[f"dL/d{name}"] = g
    if len(rec.examples) > 1:
        for k in range(len(rec.examples)):
            one = Backward(
                [np.outer(dz[k], a[k]) for dz, a in zip(back.d_z, fwd.a[:-1], strict=True)],
                [_bias_part(layer.bias_mode, dz[k]) for layer, dz in zip(net.layers, back.d_z, strict=True)],
                [_alpha_part(net, li, fwd, back, k) for li in range(len(net.layers))],
                back.d_a,
                back.d_z,
                back.fused,
            )
            for name, g in net.gradients(one).items():
                v[f"dL/d{name}#{k + 1}"] = g
    for name, value in new.parameters().items():
        v[f"{name}_new"] = value
    grads, frozen = net.gradients(back), set(net.training.freeze)
    v |= optimizer_values(net, new, grads)
    eta, optimizer = net.training.learning_rate, net.training.optimizer.name
    for name, change in change_names(net).items():  # Δθ = −η·∂L/∂θ (0 for a frozen θ); −η·v with momentum
        if name in frozen:
            v[change] = 0.0
        elif optimizer in ("sgd", "momentum"):
            v[change] = exact.exact_sum([(-eta, grads[name] if optimizer == "sgd" else v[f"v_{name}"])])
        else:
            v[change] = v[f"{name}_new"] - v[name]
    return v


def _loss_terms(net: Network, a: np.ndarray, y: np.ndarray, s: str) -> dict[str, float]:
    """Each output's share of one example's loss, ``loss_o1`` (see graph.loss_term_names)."""
    scale = loss_term_scale(net)
    return {
        name + s: scale * float(net.loss.value(a[None, j : j + 1], y[None, j : j + 1])[0])
        for j, name in enumerate(loss_term_names(net))
    }


def _bias_part(mode: str, dz: np.ndarray) -> np.ndarray:
    if mode == "shared":
        return np.array([dz.sum()])
    return dz if mode == "neuron" else np.zeros(0)


def _alpha_part(net: Network, li: int, fwd: Forward, back: Backward, k: int) -> np.ndarray:
    layer = net.layers[li]
    if not layer.alpha_name or layer.activation.alpha_derivative is None:
        return np.zeros(0)
    da = layer.activation.alpha_derivative(fwd.z[li][k], fwd.a[li + 1][k], layer.alpha_value())
    return np.array([np.sum(da * back.d_a[li][k])])


def _deltas(net: Network, rec: StepRecord, fwd: Forward, back: Backward, k: int) -> tuple[Delta, ...]:
    out: list[Delta] = []
    last = len(net.layers) - 1
    for li, layer in enumerate(net.layers):
        z, a = fwd.z[li][k], fwd.a[li + 1][k]
        deriv = layer.activation.derivative(z, a, layer.alpha_value())
        for j, n in enumerate(layer.neuron_names):
            terms: tuple[tuple[str, str, float, float], ...] = ()
            if li == last:
                how = "fused" if back.fused else ("softmax" if not layer.activation.elementwise else "output")
            else:
                how = "hidden"
                nxt = net.layers[li + 1]
                terms = tuple(
                    (
                        nxt.weight_names[m][j],
                        nxt.neuron_names[m],
                        float(nxt.weight[m, j]),
                        float(back.d_z[li + 1][k, m]),
                    )
                    for m in range(nxt.units)
                )
            act = layer.activation
            parts = act.derivative_parts(float(z[j]), float(a[j]), layer.alpha_value()) if act.derivative_parts else ()
            d_a, d_z = float(back.d_a[li][k, j]), float(back.d_z[li][k, j])
            out.append(Delta(n, d_a, float(deriv[j]), terms, d_z, how, tuple(float(p) for p in parts)))  # type: ignore[arg-type]
    return tuple(out)
