"""Every number of one update of a shaped network (`engine.model.Model`), by name, in the order a
person computes them, replayed through the engine's own ops: exactly, with every written value
rounded to k places (a person's intermediates), or with one op's rule swapped for a mistaken one
(`model_slips.Slip`), so that a mistake's downstream numbers follow from it as they would on paper.

Names (1-based indices, as `engine.layers.base.element_name` writes them; ``#k`` for example k
of a batch of more than one):

    x[c,i,j]            the input                 z_<op>[…], a_<op>[…]      an op's map and output
    loss (loss#k)       the batch loss (each example's)
    dL/da_<op>[…]       ∂L/∂ of an op's output    dL/dz_<op>[…]             ∂L/∂ of its map
    dL/dx[…]            ∂L/∂ of the input         <T>[…], dL/d<T>[…], <T>_new[…]   a learnt tensor
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from chainrule.engine.activations import Array
from chainrule.engine.layers.base import Cache, Op, d_activation, element_name

if TYPE_CHECKING:
    from chainrule.check.model_slips import Slip
    from chainrule.engine.model import Model

Values = dict[str, float]


@dataclass(frozen=True)
class Replay:
    """One update's numbers by name (in computation order), and where each op's own numbers start."""

    values: Values
    stopped: bool = False  # a mistake changed a shape, so nothing after its op can be computed


def _round(a: Array, decimals: int | None) -> Array:
    return a if decimals is None else np.round(np.asarray(a, dtype=np.float64), decimals)


class _Names:
    """Writes arrays into the values dict under their element names."""

    def __init__(self, examples: int, values: Values):
        self.n, self.values = examples, values

    def batch(self, tensor: str, array: Array) -> None:
        """A batch-first array: one name per example and element."""
        for k in range(array.shape[0]):
            end = f"#{k + 1}" if self.n > 1 else ""
            for index in np.ndindex(array.shape[1:]):
                self.values[element_name(tensor, index) + end] = float(array[k][index])

    def tensor(self, tensor: str, array: Array) -> None:
        for index in np.ndindex(np.shape(array)):
            self.values[element_name(tensor, index)] = float(np.asarray(array)[index])


def fused(model: Model) -> bool:
    """Whether the loss is worked from the last op's z (softmax + cross-entropy, sigmoid + BCE)."""
    loss = model.loss
    return loss.fused_activation == model.ops[-1].activation.name and loss.fused_gradient is not None


def replay(model: Model, x: Array, y: Array, slip: Slip | None = None, decimals: int | None = None) -> Replay:
    """The update's numbers for the batch (x, y): the forward pass, the loss, the backward pass and
    the updated tensors; with ``slip`` made where it applies and every written number rounded to
    ``decimals`` places (each op then reads the rounded numbers before it)."""
    values: Values = {}
    names = _Names(x.shape[0], values)
    for op in model.ops:
        for role, tensor in op.params().items():
            names.tensor(op.tensor_names()[role], tensor)
    x = _round(x, decimals)
    names.batch(model.input_name, x)
    caches: list[Cache] = []
    shapes = model.shapes()
    current = x
    for i, op in enumerate(model.ops):
        cache = slip.forward(op, current) if slip is not None and slip.op == i else None
        cache = cache if cache is not None else op.forward(current)
        cache = Cache(cache.x, _round(cache.z, decimals), _round(cache.a, decimals), cache.extra, cache.buffers)
        names.batch(f"z_{op.name}", cache.z)
        names.batch(f"a_{op.name}", cache.a)
        if cache.a.shape[1:] != shapes[i + 1]:
            return Replay(values, stopped=True)
        caches.append(cache)
        current = cache.a
    _loss(model, caches[-1], y, names, decimals)
    grads = _backward(model, caches, y, names, slip, decimals)
    _update(model, grads, names)
    return Replay(values)


def _scale(model: Model, n: int) -> float:
    return 1.0 / n if model.training.reduction == "mean" else 1.0


def _loss(model: Model, last: Cache, y: Array, names: _Names, decimals: int | None) -> None:
    n = last.a.shape[0]
    loss = model.loss
    if fused(model) and loss.fused_value is not None:
        each = loss.fused_value(last.z.reshape(n, -1), y)
    else:
        each = loss.value(last.a.reshape(n, -1), y)
    each = np.asarray(each, dtype=np.float64)
    if n > 1:
        for k in range(n):
            names.values[f"loss#{k + 1}"] = float(_round(each[k], decimals))
    names.values["loss"] = float(_round(each.sum() * _scale(model, n), decimals))


def _backward(
    model: Model, caches: list[Cache], y: Array, names: _Names, slip: Slip | None, decimals: int | None
) -> list[dict[str, Array]]:
    n = y.shape[0]
    last, op_last = caches[-1], model.ops[-1]
    scale = _scale(model, n)
    d_a = _round(model.loss.gradient(last.a.reshape(n, -1), y).reshape(last.a.shape) * scale, decimals)
    d_z_fused = None
    if fused(model):
        assert model.loss.fused_gradient is not None
        flat = model.loss.fused_gradient(last.z.reshape(n, -1), last.a.reshape(n, -1), y) * scale
        d_z_fused = _round(flat.reshape(last.z.shape), decimals)
    grads: list[dict[str, Array]] = [{} for _ in model.ops]
    for i in range(len(model.ops) - 1, -1, -1):
        op, cache = model.ops[i], caches[i]
        if d_z_fused is None or op is not op_last:
            names.batch(f"dL/da_{op.name}", d_a)
        d_z = d_z_fused if (d_z_fused is not None and op is op_last) else _d_z(op, cache, d_a, decimals)
        if d_z is not None:
            names.batch(f"dL/dz_{op.name}", d_z)
        d_x, grads[i] = _op_backward(op, cache, d_a, d_z)
        if slip is not None and slip.op == i:
            d_x, grads[i] = slip.backward(op, cache, d_a, d_z, d_x, grads[i])
        for role, g in grads[i].items():
            grads[i][role] = _round(g, decimals)
            names.tensor(f"dL/d{op.tensor_names()[role]}", grads[i][role])
        d_a = _round(d_x, decimals)
    names.batch(f"dL/d{model.input_name}", d_a)
    return grads


def _d_z(op: Op, cache: Cache, d_a: Array, decimals: int | None) -> Array | None:
    """∂L/∂z through the op's activation; None for an op whose activation is inside its map (rnn)."""
    if op.kind == "rnn":
        return None
    return _round(d_activation(op, cache, d_a), decimals)


def _op_backward(op: Op, cache: Cache, d_a: Array, d_z: Array | None) -> tuple[Array, dict[str, Array]]:
    from_z = getattr(op, "backward_z", None)  # the contract's ∂L/∂z entry (every op but an rnn's)
    if d_z is None or from_z is None:
        return op.backward(d_a, cache)
    result: tuple[Array, dict[str, Array]] = from_z(d_z, cache)
    return result


def _update(model: Model, grads: list[dict[str, Array]], names: _Names) -> None:
    """θ_new of every learnt tensor, by the model's own optimizer step (frozen tensors stay)."""
    from chainrule.engine.model import ModelBackward

    empty: list[Array] = [np.empty(0)] * len(model.ops)
    back = ModelBackward(empty, empty, empty, grads, names.values.get("loss", 0.0), fused(model))
    params = model.updated(back).parameters()
    for name, tensor in params.items():
        names.tensor(f"{name}_new", tensor)
