"""A vanilla recurrent layer, backpropagated through time.

For an input sequence x_1 … x_T (one example is (T, features)) and h_0 (zeros unless given),

    z_t = x_t W_xᵀ + b_x + h_{t−1} W_hᵀ + b_h,    h_t = f(z_t),    f = tanh or ReLU,

which is `torch.nn.RNN(features, units, nonlinearity=f, batch_first=True)` with one layer: the
roles are its state_dict keys (weight_ih_l0 = W_x, weight_hh_l0 = W_h, bias_ih_l0 = b_x,
bias_hh_l0 = b_h). The layer gives every h_t, (n, T, units), or only h_T, (n, units), so that a
dense layer can follow.

Backpropagation through time walks the unrolled steps backwards. The gradient reaching h_t is
what its output position receives plus what h_{t+1} sends back through W_h,

    ∂L/∂h_t = ∂L/∂a_t + ∂L/∂z_{t+1} W_h,    ∂L/∂z_t = f'(z_t) ⊙ ∂L/∂h_t,

and every weight is shared by all steps, so its gradient is a sum over time:
∂L/∂W_h = Σ_t (∂L/∂z_t)ᵀ h_{t−1}, ∂L/∂W_x = Σ_t (∂L/∂z_t)ᵀ x_t, ∂L/∂b_x = ∂L/∂b_h = Σ_t ∂L/∂z_t
(summed over the batch too). `through_time` keeps each step's term, for the views and the checker.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

import numpy as np

from chainrule.engine.activations import ACTIVATIONS, Activation, Array
from chainrule.engine.layers.base import Cache, Op, Shape, nested, tensor_name
from chainrule.errors import ChainruleError

Output = Literal["all", "last"]
OUTPUTS: tuple[str, ...] = ("all", "last")
NONLINEARITIES: tuple[str, ...] = ("tanh", "relu")  # torch.nn.RNN's two
ROLES: tuple[str, ...] = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
_PREFIXES = {"weight_ih_l0": "Wx", "weight_hh_l0": "Wh", "bias_ih_l0": "bx", "bias_hh_l0": "bh"}


@dataclass(frozen=True)
class ThroughTime:
    """Backpropagation through time, step by step (t = 1 … T is index 0 … T−1).

    ``d_h[:, t]`` is ∂L/∂h_t, the sum of its own output's gradient and what step t+1 sent back;
    ``d_z[:, t]`` is ∂L/∂z_t; ``steps[role][t]`` is step t's term of ∂L/∂role (summed over the
    batch), so ``steps[role].sum(axis=0)`` is the whole gradient; ``d_h0`` is ∂L/∂h_0."""

    d_h: Array
    d_z: Array
    d_x: Array
    d_h0: Array
    steps: dict[str, Array]

    def gradients(self) -> dict[str, Array]:
        """∂L/∂param per role: each step's term summed over time."""
        return {role: term.sum(axis=0) for role, term in self.steps.items()}


@dataclass(frozen=True, eq=False)
class RNN(Op):
    """One recurrent layer: W_x (units × features), W_h (units × units), b_x and b_h (units)."""

    kind: ClassVar[str] = "rnn"
    name: str
    activation: Activation
    weight_ih: Array
    weight_hh: Array
    bias_ih: Array
    bias_hh: Array
    output: Output = "last"
    h0: Array | None = None  # the initial state (units,), shared by every example; zeros if None
    renames: Mapping[str, str] = field(default_factory=dict)  # role -> the file's own tensor name

    def __post_init__(self) -> None:
        where = f"rnn layer {self.name!r}"
        if self.activation.name not in NONLINEARITIES:
            raise ChainruleError(f"{where}: activation: expected tanh or relu, got {self.activation.name!r}")
        if self.output not in OUTPUTS:
            raise ChainruleError(f"{where}: output: expected 'all' or 'last', got {self.output!r}")
        hh, ih = self.weight_hh.shape, self.weight_ih.shape
        if len(hh) != 2 or hh[0] != hh[1] or hh[0] < 1:
            raise ChainruleError(f"{where}: weight_hh_l0: expected a square matrix (units, units), got shape {hh}")
        units = hh[0]
        if len(ih) != 2 or ih[0] != units or ih[1] < 1:
            raise ChainruleError(f"{where}: weight_ih_l0: expected shape ({units}, features), got {ih}")
        for key, vector in (("bias_ih_l0", self.bias_ih), ("bias_hh_l0", self.bias_hh), ("h0", self.h0)):
            if vector is not None and vector.shape != (units,):
                raise ChainruleError(f"{where}: {key}: expected shape ({units},), got {vector.shape}")

    @classmethod
    def initial(
        cls,
        name: str,
        features: int,
        units: int,
        rng: np.random.Generator,
        activation: str = "tanh",
        output: Output = "last",
    ) -> RNN:
        """A new layer drawn as torch.nn.RNN draws one: every tensor uniform in ±1/√units."""
        bound = 1.0 / math.sqrt(units)
        shapes = [(units, features), (units, units), (units,), (units,)]
        w_ih, w_hh, b_ih, b_hh = (rng.uniform(-bound, bound, size=s) for s in shapes)
        return cls(name, ACTIVATIONS[activation], w_ih, w_hh, b_ih, b_hh, output=output)

    @property
    def units(self) -> int:
        return int(self.weight_hh.shape[0])

    @property
    def features(self) -> int:
        return int(self.weight_ih.shape[1])

    def out_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) != 2 or in_shape[0] < 1 or in_shape[1] != self.features:
            raise ChainruleError(
                f"rnn layer {self.name!r}: input: expected (steps ≥ 1, {self.features}) per example, got {in_shape}"
            )
        return (in_shape[0], self.units) if self.output == "all" else (self.units,)

    def params(self) -> dict[str, Array]:
        return dict(zip(ROLES, (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh), strict=True))

    def tensor_names(self) -> dict[str, str]:
        return {role: tensor_name(self, role, _PREFIXES[role], self.renames) for role in ROLES}

    def initial_state(self, n: int) -> Array:
        """h_0 for a batch of n: the given state repeated, or zeros."""
        h0 = np.zeros(self.units, dtype=self.weight_hh.dtype) if self.h0 is None else self.h0
        return np.broadcast_to(h0, (n, self.units)).copy()

    def forward(self, x: Array, training: bool = True) -> Cache:
        """Every step in turn from the layer's own h_0; see `forward_from`."""
        return self.forward_from(x, self.initial_state(x.shape[0]))

    def forward_from(self, x: Array, h0: Array) -> Cache:
        """Every step in turn from the states h0 (n, units), one per example (torch.nn.RNN's hx).

        The cache's z is every step's z_t (n, T, units) and its a what the layer outputs (every
        h_t, or h_T alone); ``extra`` keeps every h_t (``'h'``, (n, T, units)) and h_0 for
        backpropagation through time. The activation is inside the map, so a model hands this op
        ∂L/∂a whole (`backward`), never f'(z) ⊙ ∂L/∂a."""
        self.out_shape(tuple(x.shape[1:]))
        n, steps = x.shape[0], x.shape[1]
        if h0.shape != (n, self.units):
            raise ChainruleError(f"rnn layer {self.name!r}: h0: expected shape {(n, self.units)}, got {h0.shape}")
        dtype = np.result_type(x.dtype, self.weight_hh.dtype)
        z = np.empty((n, steps, self.units), dtype=dtype)
        h = np.empty_like(z)
        before = h0
        # x_t W_xᵀ + b_x for every step at once; only the recurrent term must wait for h_{t−1}.
        from_input = x @ self.weight_ih.T + self.bias_ih
        for t in range(steps):
            z[:, t] = from_input[:, t] + before @ self.weight_hh.T + self.bias_hh
            h[:, t] = self.activation.value(z[:, t], 0.0)
            before = h[:, t]
        return Cache(x=x, z=z, a=h if self.output == "all" else h[:, -1], extra={"h": h, "h0": h0})

    def through_time(self, d_a: Array, cache: Cache) -> ThroughTime:
        """∂L/∂h_t, ∂L/∂z_t, ∂L/∂x_t and each step's term of every weight's gradient, from ∂L/∂a."""
        x, z, h, h0 = cache.x, cache.z, cache.extra["h"], cache.extra["h0"]
        steps = x.shape[1]
        d_out = np.zeros_like(h)
        if self.output == "all":
            d_out[...] = d_a
        else:
            d_out[:, -1] = d_a
        d_h, d_z = np.empty_like(h), np.empty_like(h)
        terms = {role: np.empty((steps, *array.shape), dtype=h.dtype) for role, array in self.params().items()}
        back = np.zeros_like(h0)  # what step t+1 sends back to h_t
        for t in reversed(range(steps)):
            d_h[:, t] = d_out[:, t] + back
            d_z[:, t] = self.activation.derivative(z[:, t], h[:, t], 0.0) * d_h[:, t]
            before = h[:, t - 1] if t > 0 else h0
            terms["weight_ih_l0"][t] = d_z[:, t].T @ x[:, t]
            terms["weight_hh_l0"][t] = d_z[:, t].T @ before
            terms["bias_ih_l0"][t] = terms["bias_hh_l0"][t] = d_z[:, t].sum(axis=0)
            back = d_z[:, t] @ self.weight_hh
        d_x = d_z @ self.weight_ih
        return ThroughTime(d_h=d_h, d_z=d_z, d_x=d_x, d_h0=back, steps=terms)

    def backward(self, d_a: Array, cache: Cache) -> tuple[Array, dict[str, Array]]:
        bptt = self.through_time(d_a, cache)
        return bptt.d_x, bptt.gradients()

    def with_params(self, params: Mapping[str, Array], buffers: Mapping[str, Array] | None = None) -> RNN:
        new = {**self.params(), **params}
        return replace(
            self,
            weight_ih=new["weight_ih_l0"],
            weight_hh=new["weight_hh_l0"],
            bias_ih=new["bias_ih_l0"],
            bias_hh=new["bias_hh_l0"],
        )

    def to_dict(self) -> dict[str, Any]:
        """``type = "rnn"``, its sizes, f, which states it outputs, and its tensors by role."""
        table: dict[str, Any] = {
            "type": self.kind,
            "name": self.name,
            "units": self.units,
            "activation": self.activation.name,
            "output": self.output,
        }
        table.update({role: nested(array) for role, array in self.params().items()})
        if self.h0 is not None:
            table["h0"] = nested(self.h0)
        return table
