"""The slips people make backpropagating a shaped network, each a mistaken rule for one op that
`model_values.replay` makes in place of the engine's, so what a slip gives is computed, not guessed.

Every rule is the engine's own computation put to the wrong use (the kernel's turn undone, the
padded gradient read from its corner, average pooling's backward for a max-pool, the last term of
the sum through time), so the slip is made exactly as the engine would make it:

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
from chainrule.engine.layers.pool import AvgPool2d

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


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, list | tuple):
        return int(value[0]), int(value[-1])
    return int(value), int(value)


def _unflipped(op: Op, cache: Cache, d_a: Array, d_z: Array | None, d_x: Array, grads: Grads) -> tuple[Array, Grads]:
    """The engine's input gradient (the full convolution with the turned kernel) of the kernel turned
    already: the turn undone, the kernel used as it is."""
    assert d_z is not None
    weight = op.params()["weight"]
    turned = op.with_params({"weight": weight[..., ::-1, ::-1].copy()})
    return turned.backward_z(d_z, cache)[0], grads


def _without_padding(op: Op) -> Op:
    return replace(op, padding=(0, 0))  # type: ignore[type-var]  # a conv2d op: a dataclass with padding


def _padding_forward(op: Op, x: Array) -> Cache:
    return _without_padding(op).forward(x)


def _padding_gradient(
    op: Op, cache: Cache, d_a: Array, d_z: Array | None, d_x: Array, grads: Grads
) -> tuple[Array, Grads]:
    """The gradient of the padded input (the engine's, of the same convolution on the input with its
    border written in) read from its top-left corner instead of cropped by the padding."""
    assert d_z is not None
    ph, pw = _pair(getattr(op, "padding", 0))
    rows, cols = cache.x.shape[2:]
    padded = np.pad(cache.x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    bare = _without_padding(op)
    whole = bare.backward_z(d_z, bare.forward(padded))[0]
    return whole[:, :, :rows, :cols].copy(), grads


def _spread(share: bool) -> Callable[..., tuple[Array, Grads]]:
    """∂L/∂z of each window to every input of it: average pooling's backward over the same windows
    (shared, δ/(kh·kw)), or that times kh·kw (copied, δ to each)."""

    def rule(op: Op, cache: Cache, d_a: Array, d_z: Array | None, d_x: Array, grads: Grads) -> tuple[Array, Grads]:
        assert d_z is not None
        kernel = _pair(getattr(op, "kernel", 2))
        mean = AvgPool2d(op.name, kernel, getattr(op, "stride", None), _pair(getattr(op, "padding", 0)))
        spread = mean.backward_z(d_z, mean.forward(cache.x))[0]
        return (spread if share else spread * kernel[0] * kernel[1]), grads

    return rule


def _direct_only(op: Op, cache: Cache, d_a: Array, d_z: Array | None, d_x: Array, grads: Grads) -> tuple[Array, Grads]:
    assert d_z is not None
    x = cache.x
    axes = (0,) if x.ndim == 2 else (0, *range(2, x.ndim))
    var = x.var(axis=axes, keepdims=True)
    gamma = op.params()["weight"].reshape((1, -1) + (1,) * (x.ndim - 2))
    eps = float(getattr(op, "eps", 1e-5))
    return d_z * gamma / np.sqrt(var + eps), grads


def _skip_dropped(op: Op, cache: Cache, d_a: Array, d_z: Array | None, d_x: Array, grads: Grads) -> tuple[Array, Grads]:
    return d_x - (d_z if d_z is not None else d_a), grads


def _last_step(op: Op, cache: Cache, d_a: Array, d_z: Array | None, d_x: Array, grads: Grads) -> tuple[Array, Grads]:
    """Each tensor's gradient as the last step's term of the engine's own sum over time."""
    terms = op.through_time(d_a, cache).steps  # type: ignore[attr-defined]  # an rnn op's BPTT
    return d_x, {role: terms[role][-1] if role in terms else g for role, g in grads.items()}


def _has_padding(op: Op) -> bool:
    return "padding" in getattr(op, "__dataclass_fields__", {}) and any(_pair(getattr(op, "padding", 0)))


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
