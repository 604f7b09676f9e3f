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
from chainrule.engine.overflow import require_finite
from chainrule.errors import ChainruleError

# A gradient is written as a sum over paths while that stays readable; past this many paths
# per parameter (deep or wide networks, or a batch of examples) the record uses the delta form.
MAX_PATHS = 4

FactorKind = Literal["loss", "activation", "fused", "softmax", "weight", "input", "one", "alpha", "delta"]


@dataclass(frozen=True)
class Factor:
    """One local derivative ∂num/∂den in a chain, with its value."""

    num: str  # "L", "a_out", "z_out", ...
    den: str  # "a_out", "z_out", "w5", ...
    value: float
    kind: FactorKind
    source: str = ""  # the name whose value this factor is (w5 for ∂z_out/∂a_h1, a_h1 for ∂z_out/∂w5)
    parts: tuple[float, ...] = ()  # numbers whose product it is, as the registry writes it (a, 1 − a)


@dataclass(frozen=True)
class Path:
    """One route from the loss down to a parameter: the product of its factors."""

    factors: tuple[Factor, ...]
    value: float
    via: str = ""  # the neuron a shared parameter reaches the loss through (h1 for b1's first path)
    partials: tuple[float, ...] = ()  # running products, left to right: f1, f1·f2, ..., value


@dataclass(frozen=True)
class Chain:
    """∂L/∂θ for one example, as a sum of paths (form 'paths') or as δ·input (form 'delta')."""

    param: str
    form: Literal["paths", "delta"]
    paths: tuple[Path, ...]
    value: float


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
    """`count` updates one after another, from update `example` of the epoch (wrapping into the next)."""
    records = []
    limits.EXPLAINED.check(net.parameter_count() * count, f"{net.source}: parameters × updates explained")
    updates = len(net.batches())
    if not 0 <= example < updates:
        raise ChainruleError(f"--example {example + 1}: expected 1 to {updates} (the updates in one epoch)")
    for i in range(count):
        record, net = step_and_next(net, (example + i) % updates)
        records.append(record)
    return records


def step_and_next(net: Network, example: int = 0) -> tuple[StepRecord, Network]:
    """One step's record and the network after its update."""
    batches = net.batches()
    if not 0 <= example < len(batches):
        raise ChainruleError(f"--example {example + 1}: expected 1 to {len(batches)} (the updates in one epoch)")
    idx = batches[example]
    x, y = net.x[idx], net.y[idx]
    limits.EXPLAINED.check(net.parameter_count(), f"{net.source}: parameters explained")
    with np.errstate(all="ignore"):  # a value beyond float64 is reported in one line, not warned about
        fwd = net.forward(x)
        back = net.backward(fwd, y)
        new = net.updated(back)
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
        batch_kind=str(net.training.batch),
        examples=tuple(int(i) for i in idx),
        fused=back.fused,
        sums=_sums(net),
        values={},
    )
    record.values = _values(net, record, fwd, back, y, new)
    record.deltas = tuple(_deltas(net, record, fwd, back, k) for k in range(len(idx)))
    record.chains = _chains(net, record, fwd, back)
    grads = net.gradients(back)
    old, after = net.parameters(), new.parameters()
    frozen = set(net.training.freeze)
    record.updates = tuple(Update(p, old[p], grads[p], after[p], p in frozen) for p in net.parameter_names())
    return record, new


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
        if s:
            v[f"loss{s}"] = float(losses[k])
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
    return v


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
            out.append(Delta(n, float(back.d_a[li][k, j]), float(deriv[j]), terms, float(back.d_z[li][k, j]), how))  # type: ignore[arg-type]
    return tuple(out)


def _paths_to_z(net: Network, rec: StepRecord, k: int, li: int, j: int) -> list[list[Factor]]:
    """Every route from the loss down to z of neuron j in layer li, as lists of factors."""
    s = rec.suffix(k)
    v = rec.values
    layer = net.layers[li]
    n = layer.neuron_names[j]
    if li == len(net.layers) - 1:
        if rec.fused:
            return [[Factor("L", f"z_{n}", v[f"dL/dz_{n}{s}"], "fused")]]
        if not layer.activation.elementwise:
            return [[Factor("L", f"z_{n}", v[f"dL/dz_{n}{s}"], "softmax")]]
        return [
            [
                Factor("L", f"a_{n}", v[f"dL/da_{n}{s}"], "loss"),
                _activation_factor(net, rec, k, li, j),
            ]
        ]
    routes: list[list[Factor]] = []
    nxt = net.layers[li + 1]
    for m, nm in enumerate(nxt.neuron_names):
        for above in _paths_to_z(net, rec, k, li + 1, m):
            w = nxt.weight_names[m][j]
            routes.append(
                [
                    *above,
                    Factor(f"z_{nm}", f"a_{n}", float(nxt.weight[m, j]), "weight", w),
                    _activation_factor(net, rec, k, li, j),
                ]
            )
    return routes


def _activation_factor(net: Network, rec: StepRecord, k: int, li: int, j: int) -> Factor:
    """∂a_j/∂z_j, with the numbers the registry writes it as (σ: a and 1 − a)."""
    s = rec.suffix(k)
    layer = net.layers[li]
    n = layer.neuron_names[j]
    z, a = rec.values[f"z_{n}{s}"], rec.values[f"a_{n}{s}"]
    act = layer.activation
    parts = act.derivative_parts(z, a, layer.alpha_value()) if act.derivative_parts else ()
    return Factor(f"a_{n}", f"z_{n}", rec.values[f"da_{n}/dz_{n}{s}"], "activation", f"a_{n}", tuple(parts))


def _path_count(net: Network, li: int) -> int:
    count = 1
    for layer in net.layers[li + 1 :]:
        count *= layer.units
    return count


def _chains(net: Network, rec: StepRecord, fwd: Forward, back: Backward) -> dict[str, tuple[Chain, ...]]:
    chains: dict[str, list[Chain]] = {}
    single = len(rec.examples) == 1
    for k in range(len(rec.examples)):
        s = rec.suffix(k)
        sending = list(net.input_names)
        for li, layer in enumerate(net.layers):
            neurons_per_param = layer.units if layer.bias_mode == "shared" or layer.alpha_name else 1
            use_paths = single and _path_count(net, li) * neurons_per_param <= MAX_PATHS
            for j, n in enumerate(layer.neuron_names):
                if use_paths:
                    routes = _paths_to_z(net, rec, k, li, j)
                else:
                    routes = [[Factor("L", f"z_{n}", rec.values[f"dL/dz_{n}{s}"], "delta")]]
                for i, src in enumerate(sending):
                    a_i = float(fwd.a[li][k, i])
                    last = Factor(f"z_{n}", layer.weight_names[j][i], a_i, "input", src)
                    _add(chains, layer.weight_names[j][i], routes, last, "")
                if layer.bias_mode != "none":
                    b = layer.bias_names[0] if layer.bias_mode == "shared" else layer.bias_names[j]
                    via = n if layer.bias_mode == "shared" and layer.units > 1 else ""
                    _add(chains, b, routes, Factor(f"z_{n}", b, 1.0, "one"), via)
                if layer.alpha_name and layer.activation.alpha_derivative is not None:
                    da = layer.activation.alpha_derivative(fwd.z[li][k], fwd.a[li + 1][k], layer.alpha_value())
                    # α acts on a_j directly: drop the ∂a/∂z factor that ends each route to z_j.
                    if use_paths:
                        to_a = [r[:-1] for r in routes]
                    else:
                        to_a = [[Factor("L", f"a_{n}", rec.values[f"dL/da_{n}{s}"], "delta")]]
                    last = Factor(f"a_{n}", layer.alpha_name, float(da[j]), "alpha", f"z_{n}")
                    _add(chains, layer.alpha_name, to_a, last, n)
            sending = [f"a_{n}" for n in layer.neuron_names]
    return {name: _merge(name, pieces, len(rec.examples)) for name, pieces in chains.items()}


def _add(chains: dict[str, list[Chain]], param: str, routes: list[list[Factor]], last: Factor, via: str) -> None:
    paths = []
    for r in routes:
        factors = (*r, last)
        partials = tuple(float(p) for p in np.cumprod([f.value for f in factors]))
        paths.append(Path(factors, partials[-1], via, partials))
    form: Literal["paths", "delta"] = "delta" if routes and routes[0][0].kind == "delta" else "paths"
    chains.setdefault(param, []).append(Chain(param, form, tuple(paths), sum(p.value for p in paths)))


def _merge(param: str, pieces: list[Chain], size: int) -> tuple[Chain, ...]:
    """Group a parameter's pieces by example (they were appended example by example, in order)."""
    per = len(pieces) // size
    out = []
    for k in range(size):
        group = pieces[k * per : (k + 1) * per]
        paths = tuple(p for c in group for p in c.paths)
        out.append(Chain(param, group[0].form, paths, sum(p.value for p in paths)))
    return tuple(out)
