"""The chain rule checked numerically: each parameter's central difference beside its backpropagated gradient.

For a parameter θ with step h, the central difference (L(θ + h) − L(θ − h)) / 2h differs from
∂L/∂θ by h²·L'''(θ)/6 (truncation) plus about ε·|L|/h (the rounding of the two losses, ε the
machine epsilon). h = 10⁻⁶·max(1, |θ|) keeps both small for the losses chainrule explains;
the two losses are computed in extended precision (NumPy's longdouble, 64 significant bits on
x86) so that their rounding does not swamp a small gradient beside a large loss. The network,
the examples and the batch loss are those of the step record being checked.

A kink (ReLU and its kin at z = 0, a hinge margin at 0) between θ − h and θ + h makes the
central difference the average of two one-sided slopes, not the derivative: such a parameter is
marked `kink` and reported, not compared.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from chainrule.engine.network import Forward, Network
from chainrule.errors import ChainruleError
from chainrule.record.step import StepRecord

STEP = 1e-6  # h = STEP · max(1, |θ|)
MAX_PARAMETERS = 2000  # checked at once: 2 longdouble forward passes each
TOLERANCE = 1e-7  # the relative difference under which the two values agree
_EPS = float(np.finfo(np.float64).eps)
H_RULE = "h = 10⁻⁶ · max(1, |θ|)"
# Activations whose derivative (or value) jumps at z = 0; elu only where α ≠ 1.
_KINKED_AT_ZERO = ("relu", "leaky_relu", "prelu", "binary_step", "selu", "elu")


@dataclass(frozen=True)
class ParamCheck:
    """One parameter: the losses either side of it, their central difference and the chain rule's value."""

    name: str
    value: float  # θ
    h: float
    loss_plus: float  # L(θ + h)
    loss_minus: float  # L(θ − h)
    numeric: float  # (L(θ + h) − L(θ − h)) / 2h
    chain: float  # ∂L/∂θ by backpropagation (the record's dL/dθ)
    relative: float  # |numeric − chain| / max(|numeric|, |chain|), 0 when both are 0
    kink: bool  # a kink lies between θ − h and θ + h: the difference is not the derivative there
    resolution: (
        float  # ε·(|L(θ + h)| + |L(θ − h)|) / 2h: what float64 rounding of the losses can move the difference by
    )

    @property
    def agrees(self) -> bool:
        """Within TOLERANCE relative, or within the resolution of the difference itself (a gradient of about 0)."""
        return self.relative <= TOLERANCE or abs(self.numeric - self.chain) <= self.resolution


@dataclass(frozen=True)
class GradCheck:
    """Every parameter of one step, checked; `worst` is the largest relative difference away from kinks."""

    loss: float
    checks: tuple[ParamCheck, ...]
    h_rule: str = H_RULE

    def as_dict(self) -> dict[str, object]:
        """Plain data for JSON: the rule for h, the tolerance, and every parameter's numbers."""
        return {
            "h": self.h_rule,
            "tolerance": TOLERANCE,
            "loss": self.loss,
            "agree": self.agree,
            "parameters": [{**asdict(c), "agrees": c.agrees} for c in self.checks],
        }

    @property
    def agree(self) -> bool:
        """Every parameter away from a kink agrees."""
        return all(c.agrees for c in self.checks if not c.kink)


def relative_difference(a: float, b: float) -> float:
    """|a − b| / max(|a|, |b|): 0 for two equal numbers (zeros included), at most 2."""
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def gradcheck(net: Network, record: StepRecord, names: Sequence[str] | None = None) -> GradCheck:
    """Central differences of the batch loss of `record`'s step, from the parameters it started with.

    Every parameter, or only `names`. Each costs two forward passes in longdouble (no BLAS), so a
    network of more than MAX_PARAMETERS is refused unless the parameters are named.
    """
    updates = [u for u in record.updates if names is None or u.param in names]
    if len(updates) > MAX_PARAMETERS:
        raise ChainruleError(
            f"--gradcheck: at most {MAX_PARAMETERS:,} parameters at once (this network has {len(updates):,}; "
            "add --only NAME to check one)"
        )
    wide = _extended(net, {u.param: u.old for u in record.updates})
    where = _places(wide)
    idx = np.array(record.examples)
    x, y = wide.x[idx].astype(np.longdouble), wide.y[idx].astype(np.longdouble)
    checks = []
    for u in updates:
        h = STEP * max(1.0, abs(u.old))
        array, at = where[u.param]
        sides = []
        for sign in (1.0, -1.0):
            array[at] = np.longdouble(u.old) + sign * np.longdouble(h)
            fwd = wide.forward(x)
            sides.append((_batch_loss(wide, fwd, y), _pattern(wide, fwd, y)))
        array[at] = np.longdouble(u.old)
        (plus, p_pat), (minus, m_pat) = sides
        numeric = float((plus - minus) / (2 * np.longdouble(h)))
        chain = record.values[f"dL/d{u.param}"]
        kink = not all(np.array_equal(a, b) for a, b in zip(p_pat, m_pat, strict=True))
        checks.append(
            ParamCheck(
                u.param,
                u.old,
                h,
                float(plus),
                float(minus),
                numeric,
                chain,
                relative_difference(numeric, chain),
                kink,
                _EPS * float(abs(plus) + abs(minus)) / (2 * h),
            )
        )
    return GradCheck(record.values["loss"], tuple(checks))


def _extended(net: Network, params: dict[str, float]) -> Network:
    """A copy of `net` in longdouble, holding the given parameter values."""
    wide = copy.deepcopy(net)
    for layer in wide.layers:
        layer.weight = layer.weight.astype(np.longdouble)
        layer.bias = layer.bias.astype(np.longdouble)
        layer.alpha = layer.alpha.astype(np.longdouble)
    for name, (array, at) in _places(wide).items():
        array[at] = np.longdouble(params[name])
    return wide


def _places(net: Network) -> dict[str, tuple[np.ndarray, tuple[int, ...]]]:
    """Each parameter's array and index in it, found once (names are looked up once, not per parameter)."""
    out: dict[str, tuple[np.ndarray, tuple[int, ...]]] = {}
    for layer in net.layers:
        for r, row in enumerate(layer.weight_names):
            for c, name in enumerate(row):
                out[name] = (layer.weight, (r, c))
        for j, name in enumerate(layer.bias_names):
            out[name] = (layer.bias, (j,))
        if layer.alpha_name:
            out[layer.alpha_name] = (layer.alpha, (0,))
    return out


def _batch_loss(net: Network, fwd: Forward, y: np.ndarray) -> np.longdouble:
    """The batch loss as the engine reduces it (sum or mean), kept in longdouble (batch_loss rounds to float)."""
    losses = np.asarray(net.example_losses(fwd, y), dtype=np.longdouble)
    return np.longdouble(losses.mean() if net.training.reduction == "mean" else losses.sum())


def _pattern(net: Network, fwd: Forward, y: np.ndarray) -> list[np.ndarray]:
    """Which side of every kink each value lies on: z > 0 in kinked layers, margins > 0 for the hinge."""
    out = []
    for li, layer in enumerate(net.layers):
        act = layer.activation
        if act.name in _KINKED_AT_ZERO and not (act.name == "elu" and layer.alpha_value() == 1.0):
            out.append(fwd.z[li] > 0)
    if net.loss.name == "hinge":
        a = fwd.output
        if a.shape[-1] == 1:
            out.append(1 - y * a > 0)
        else:
            c = np.argmax(y, axis=-1)
            out.append(a - a[np.arange(a.shape[0]), c][:, None] + 1 > 0)
    return out
