"""The slips people make backpropagating a shaped network, each a mistaken rule for one op that
`model_values.replay` makes in place of the engine's, so what a slip gives is computed, not guessed.

Every rule is built from the op's own forward (its Jacobian probed on unit inputs) and its
parameters, so it holds for any op that keeps the `engine.layers.base` contract:

* ``kernel_not_flipped``: a convolution's input gradient as the full convolution of ∂L/∂z with the
  kernel as it is, not turned 180° (the transpose of the convolution by the flipped kernel);
* ``padding_forgotten`` ``forward``: the convolution over the input without its zero border (a
  smaller map, so nothing after it can be computed); ``gradient``: the input gradient read off
  the padded input's gradient from its corner, the border not cropped away;
* ``maxpool_spread`` ``copied``/``averaged``: ∂L/∂z of each window given to every input of the
  window (or shared equally among them) instead of routed to the window's maximum;
* ``batchnorm_direct_only``: ∂L/∂x = ∂L/∂x̂ · 1/√(σ² + ε), the paths through μ and σ² left out;
* ``skip_gradient_dropped``: a residual block's input gradient through the block only, the
  skip connection's ∂L/∂z not added;
* ``bptt_one_step``: an RNN's weight and bias gradients from the last time step's term only
  (the engine's `through_time` terms), where the sum over every step belongs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.engine.activations import Array
from chainrule.engine.layers.base import Cache, Op

if TYPE_CHECKING:
    from chainrule.engine.model import Model

Grads = dict[str, Array]
Backward = Callable[[Op, Cache, Array, "Array | None", Array, Grads], tuple[Array, Grads]]


@dataclass(frozen=True)
class Slip:
    """One mistaken rule, made in op ``op`` (its index) of the model."""

    id: str
    kind: str
    op: int
    where: str  # the op's name
    rule: Callable[..., Any]
    in_forward: bool = False

    def forward(self, op: Op, x: Array) -> Cache | None:
        return self.rule(op, x) if self.in_forward else None

    def backward(
        self, op: Op, cache: Cache, d_a: Array, d_z: Array | None, d_x: Array, grads: Grads
    ) -> tuple[Array, Grads]:
        if self.in_forward:
            return d_x, grads
        result: tuple[Array, Grads] = self.rule(op, cache, d_a, d_z, d_x, grads)
        return result


def _jacobian(op: Op, in_shape: tuple[int, ...]) -> Array:
    """∂z/∂x of a linear-plus-constant map (conv, pooling windows): (out size, in size)."""
    size = int(np.prod(in_shape))
    probe = np.concatenate([np.zeros((1, size)), np.eye(size)]).reshape(size + 1, *in_shape)
    z = np.asarray(op.forward(probe).z, dtype=np.float64).reshape(size + 1, -1)
    return (z[1:] - z[0]).T


def _setting(op: Op, key: str, default: Any = None) -> Any:
    value = getattr(op, key, None)
    return value if value is not None else op.to_dict().get(key, default)


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, list | tuple):
        return int(value[0]), int(value[-1])
    return int(value), int(value)


def _unflipped(op: Op, cache: Cache, d_a: Array, d_z: Array | None, d_x: Array, grads: Grads) -> tuple[Array, Grads]:
    assert d_z is not None
    weight = op.params()["weight"]
    turned = op.with_params({**op.params(), "weight": weight[..., ::-1, ::-1].copy()})
    jac = _jacobian(turned, cache.x.shape[1:])
    return (d_z.reshape(d_z.shape[0], -1) @ jac).reshape(cache.x.shape), grads


def _without_padding(op: Op) -> Op:
    padding = _setting(op, "padding", 0)
    return replace(op, padding=(0, 0) if isinstance(padding, list | tuple) else 0)  # type: ignore[type-var]


def _padding_forward(op: Op, x: Array) -> Cache:
    return _without_padding(op).forward(x)


def _padding_gradient(
    op: Op, cache: Cache, d_a: Array, d_z: Array | None, d_x: Array, grads: Grads
) -> tuple[Array, Grads]:
    assert d_z is not None
    ph, pw = _pair(_setting(op, "padding", 0))
    n, channels, height, width = cache.x.shape
    padded_shape = (channels, height + 2 * ph, width + 2 * pw)
    jac = _jacobian(_without_padding(op), padded_shape)
    whole = (d_z.reshape(n, -1) @ jac).reshape(n, *padded_shape)
    return whole[:, :, :height, :width].copy(), grads


def _spread(share: bool) -> Callable[..., tuple[Array, Grads]]:
    def rule(op: Op, cache: Cache, d_a: Array, d_z: Array | None, d_x: Array, grads: Grads) -> tuple[Array, Grads]:
        assert d_z is not None
        windows = (_jacobian(op, cache.x.shape[1:]) > 0.5).astype(np.float64)  # output × input: who is in it
        if share:
            windows = windows / windows.sum(axis=1).max()
        return (d_z.reshape(d_z.shape[0], -1) @ windows).reshape(cache.x.shape), grads

    return rule


def _direct_only(op: Op, cache: Cache, d_a: Array, d_z: Array | None, d_x: Array, grads: Grads) -> tuple[Array, Grads]:
    assert d_z is not None
    x = cache.x
    axes = (0,) if x.ndim == 2 else (0, *range(2, x.ndim))
    var = x.var(axis=axes, keepdims=True)
    gamma = op.params()["weight"].reshape((1, -1) + (1,) * (x.ndim - 2))
    eps = float(_setting(op, "eps", 1e-5))
    return d_z * gamma / np.sqrt(var + eps), grads


def _skip_dropped(op: Op, cache: Cache, d_a: Array, d_z: Array | None, d_x: Array, grads: Grads) -> tuple[Array, Grads]:
    return d_x - (d_z if d_z is not None else d_a), grads


def _last_step(op: Op, cache: Cache, d_a: Array, d_z: Array | None, d_x: Array, grads: Grads) -> tuple[Array, Grads]:
    """Each tensor's gradient as the last step's term of the engine's own sum over time."""
    terms = op.through_time(d_a, cache).steps  # type: ignore[attr-defined]  # an rnn op's BPTT
    return d_x, {role: terms[role][-1] if role in terms else g for role, g in grads.items()}


def _has_padding(op: Op) -> bool:
    return "padding" in getattr(op, "__dataclass_fields__", {}) and any(_pair(_setting(op, "padding", 0)))


def catalogue(model: Model) -> list[Slip]:
    """Every slip that can be made in this model, op by op."""
    out: list[Slip] = []
    for i, op in enumerate(model.ops):
        name = op.name
        if op.kind == "conv2d":
            out.append(Slip("kernel_not_flipped", "", i, name, _unflipped))
            if _has_padding(op):
                out.append(Slip("padding_forgotten", "forward", i, name, _padding_forward, in_forward=True))
                out.append(Slip("padding_forgotten", "gradient", i, name, _padding_gradient))
        elif op.kind == "maxpool2d":
            out.append(Slip("maxpool_spread", "copied", i, name, _spread(share=False)))
            out.append(Slip("maxpool_spread", "averaged", i, name, _spread(share=True)))
        elif op.kind == "batchnorm":
            out.append(Slip("batchnorm_direct_only", "", i, name, _direct_only))
        elif op.kind == "residual":
            out.append(Slip("skip_gradient_dropped", "", i, name, _skip_dropped))
        elif op.kind == "rnn":
            out.append(Slip("bptt_one_step", "", i, name, _last_step))
    return out
