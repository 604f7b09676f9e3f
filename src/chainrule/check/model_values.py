"""Every number of one update of a shaped network (`engine.model.Model`), by the record's names
(`record.model_step`: x[…], z_<op>[…], a_<op>[…], dL/dz_<op>[…], dL/dW_<op>[…], W_<op>[…]_new, …),
replayed through the engine's own ops: exactly, with every number rounded to k places (a person's
written intermediates), or with one op's rule swapped for a mistaken one (`model_slips.Slip`), so
that a mistake's downstream numbers follow from it as they would on paper. The names and their
order are the record's own (`record.model_step.model_values`): the checker reads the names
`chainrule explain` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from chainrule.engine.activations import Array
from chainrule.engine.layers.base import Cache, Op, d_activation, element_name
from chainrule.engine.model import Model, ModelBackward, ModelForward
from chainrule.record.model_ops import op_detail
from chainrule.record.model_paper import on_paper, paper_update, settled
from chainrule.record.model_step import model_batches, model_values, op_infos

if TYPE_CHECKING:
    from chainrule.check.model_pins import Pins
    from chainrule.check.model_slips import Slip

Values = dict[str, float]


@dataclass(frozen=True)
class Replay:
    """One update's numbers by name, in the order of the computation."""

    values: Values
    stopped: bool = False  # a mistake changed a shape, so nothing after its op can be computed


def _round(a: Array, decimals: int | None) -> Array:
    return a if decimals is None else np.round(np.asarray(a, dtype=np.float64), decimals)


def first_batch(model: Model) -> np.ndarray:
    """The examples of the first update (what `chainrule explain` shows and an answers file answers)."""
    return model_batches(model)[0]


def fused(model: Model) -> bool:
    """Whether the loss is worked from the last op's z (softmax + cross-entropy, sigmoid + BCE)."""
    loss = model.loss
    return loss.fused_activation == model.ops[-1].activation.name and loss.fused_gradient is not None


def replay(model: Model, slip: Slip | None = None, decimals: int | None = None, pins: Pins | None = None) -> Replay:
    """The first update's numbers: forward, loss, backward and the updated tensors; with ``slip``
    made where it applies, every number rounded to ``decimals`` places (each op then reads the
    rounded numbers before it) and the author's own numbers written in where ``pins`` has them."""
    idx = first_batch(model)
    x, y = _round(model.x[idx], decimals), model.y[idx]
    suffixes = ["" if len(idx) == 1 else f"#{k + 1}" for k in range(len(idx))]
    shapes = model.shapes()
    caches: list[Cache] = []
    current = x
    for i, op in enumerate(model.ops):
        cache = slip.forward(op, current) if slip is not None and slip.op == i else None
        cache = cache if cache is not None else on_paper(op, op.forward(current))[0]  # as explain works it
        cache = replace(cache, z=_round(cache.z, decimals), a=_round(cache.a, decimals))
        if pins is not None and not inside(op):
            cache = _pinned(op, cache, pins, decimals)
        if cache.a.shape[1:] != shapes[i + 1]:
            return Replay(_stopped(model, x, [*caches, cache], suffixes), stopped=True)
        caches.append(cache)
        current = cache.a
    fwd = ModelForward(x, caches)
    back = _backward(model, fwd, y, slip, decimals, pins)
    infos = op_infos(model)
    values = model_values(model, infos, fwd, back, y, paper_update(model, back), suffixes)
    for i, (op, info, cache) in enumerate(zip(model.ops, infos, caches, strict=True)):
        values |= op_detail(op, info, cache, back.d_a[i], back.d_z[i], back.d_x[i], suffixes).stats
    return Replay(values)


def _stopped(model: Model, x: Array, caches: list[Cache], suffixes: list[str]) -> Values:
    """The numbers up to an op whose output no longer has its shape: its z and a as they came out."""
    values: Values = {}
    for k, s in enumerate(suffixes):
        for index in np.ndindex(x.shape[1:]):
            values[element_name(model.input_name, index) + s] = float(x[k][index])
    for op, cache in zip(model.ops, caches, strict=False):
        for k, s in enumerate(suffixes):
            for index in np.ndindex(cache.z.shape[1:]):
                values[element_name(f"z_{op.name}", index) + s] = float(cache.z[k][index])
                values[element_name(f"a_{op.name}", index) + s] = float(cache.a[k][index])
    return values


def inside(op: Op) -> bool:
    """An op whose activation is inside its own map (an RNN): it has no ∂L/∂z entry of its own."""
    return type(op).backward_z is Op.backward_z


def _pinned(op: Op, cache: Cache, pins: Pins, decimals: int | None) -> Cache:
    """The cache with the author's z (its a then through the activation) and a written in."""
    z = pins.apply("z", op.name, cache.z)
    a = cache.a if z is cache.z else _round(op.activation.value(z, float(op.activation.alpha or 0.0)), decimals)
    return replace(cache, z=z, a=pins.apply("a", op.name, a))


def _backward(
    model: Model, fwd: ModelForward, y: Array, slip: Slip | None, decimals: int | None, pins: Pins | None = None
) -> ModelBackward:
    """`Model.backward`, op by op, with the slip made in its op and every number rounded."""
    n, count = fwd.x.shape[0], len(model.ops)
    scale = 1.0 / n if model.training.reduction == "mean" else 1.0
    last = fwd.caches[-1]
    d_a = _round(model.loss.gradient(last.a, y) * scale, decimals)
    is_fused = fused(model)
    d_as: list[Array] = [np.empty(0)] * count
    d_zs: list[Array] = [np.empty(0)] * count
    d_xs: list[Array] = [np.empty(0)] * count
    grads: list[dict[str, Array]] = [{} for _ in range(count)]
    for i in range(count - 1, -1, -1):
        op, cache = model.ops[i], fwd.caches[i]
        if pins is not None and not inside(op):
            d_a = pins.apply("dL/da", op.name, d_a)
        if i == count - 1 and is_fused:
            assert model.loss.fused_gradient is not None
            d_z = _round(model.loss.fused_gradient(last.z, last.a, y) * scale, decimals)
        elif inside(op):
            d_z = d_a
        else:
            d_z = _round(d_activation(op, cache, d_a), decimals)
        if pins is not None and not inside(op):
            d_z = pins.apply("dL/dz", op.name, d_z)
        d_x, grads[i] = op.backward(d_a, cache) if inside(op) else op.backward_z(d_z, cache)
        if slip is not None and slip.op == i:
            d_x, grads[i] = slip.backward(op, cache, d_a, None if inside(op) else d_z, d_x, grads[i])
        else:
            d_x, grads[i] = settled(op, cache, d_z, d_x, grads[i])  # as explain works them
        grads[i] = {role: _round(g, decimals) for role, g in grads[i].items()}
        d_as[i], d_zs[i], d_xs[i] = d_a, d_z, _round(d_x, decimals)
        d_a = d_xs[i]
    loss = float(_round(np.asarray(model.batch_loss(fwd, y)), decimals))
    return ModelBackward(d_as, d_zs, d_xs, grads, loss, is_fused, [dict(c.buffers) for c in fwd.caches])
