"""A shaped network: a sequence of typed layers (`engine.layers`), the same API as `Network`.

    net = chainrule.load("conv")                  # or from_torch(nn.Sequential(...), loss=..., x=..., y=...)
    fwd = net.forward(net.x)                      # every layer's z and a, batch first
    back = net.backward(fwd, net.y)               # ∂L/∂a of every layer and ∂L/∂θ of every tensor
    net2 = net.updated(back)                      # one step of the file's optimizer (SGD by default)

`Model` is to a shaped network what `Network` is to a dense one; a file or a torch model holding
only dense layers stays a `Network`. The loss pairs with the last op's activation exactly as in
`Network.backward` (softmax + cross-entropy and sigmoid + binary cross-entropy fused from z).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from chainrule.engine.activations import Array
from chainrule.engine.functions import Loss
from chainrule.engine.layers.base import Cache, Op, Shape, d_activation
from chainrule.engine.network import Reduction, Training
from chainrule.engine.optimizers import step_array

# An op's ∂L/∂input and ∂L/∂θ as the explained step settles them: (op, its cache, ∂L/∂z, ∂L/∂input, ∂L/∂θ).
Settle = Callable[[Op, Cache, Array, Array, dict[str, Array]], tuple[Array, dict[str, Array]]]


@dataclass
class ModelForward:
    """Every op's cache, in order; ``caches[i].a`` is op i's output and ``x`` the batch given."""

    x: Array
    caches: list[Cache]

    @property
    def output(self) -> Array:
        return self.caches[-1].a if self.caches else self.x


@dataclass
class ModelBackward:
    """∂L/∂a of every op's output (``d_a[i]``), ∂L/∂z (``d_z[i]``), ∂L/∂input (``d_x[i]``) and each
    op's tensor gradients by role (``d_params[i]``); ``loss`` is the batch loss they are of, and
    ``buffers[i]`` the running statistics op i's forward computed (batchnorm), for `Model.updated`."""

    d_a: list[Array]
    d_z: list[Array]
    d_x: list[Array]
    d_params: list[dict[str, Array]]
    loss: float
    fused: bool
    buffers: list[dict[str, Array]] = field(default_factory=list)  # each op's new running statistics


@dataclass
class Model:
    """A network of typed layers, its loss, its examples and its training settings."""

    title: str
    input_shape: Shape
    ops: list[Op]
    loss: Loss
    x: Array  # (n, *input_shape); may be empty
    y: Array  # (n, outputs)
    training: Training = field(default_factory=Training)
    input_name: str = "x"  # the input's elements are x[i,…] (1-based), like every shaped value
    optimizer_state: dict[str, dict[str, Array]] = field(default_factory=dict)  # tensor name -> slot -> array
    steps_taken: int = 0  # the optimizer's t before the next update
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """Where the model came from (its file), for messages and reports; else its title."""
        return str(self.extra.get("source", self.title))

    def shapes(self) -> list[Shape]:
        """One example's shape at every point: the input's, then each op's output."""
        shapes = [tuple(self.input_shape)]
        for op in self.ops:
            shapes.append(op.out_shape(shapes[-1]))
        return shapes

    def parameters(self) -> dict[str, Array]:
        """Every learnt tensor by its chainrule name, in op order."""
        values: dict[str, Array] = {}
        for op in self.ops:
            names = op.tensor_names()
            for role, array in op.params().items():
                values[names[role]] = array
        return values

    def parameter_count(self) -> int:
        return sum(int(array.size) for array in self.parameters().values())

    def forward(self, x: Array, training: bool = True) -> ModelForward:
        """Each op on the output of the one before; ``training`` picks batchnorm's batch statistics
        (True) or its running ones (False)."""
        a = np.asarray(x, dtype=self.training.dtype)
        first = a
        caches: list[Cache] = []
        for op in self.ops:
            cache = op.forward(a, training)
            caches.append(cache)
            a = cache.a
        return ModelForward(x=first, caches=caches)

    def _fused(self) -> bool:
        return bool(self.ops) and self.loss.fused_activation == self.ops[-1].activation.name

    def example_losses(self, fwd: ModelForward, y: Array) -> Array:
        """The loss of each example (n,), from z where the loss pairs with the last activation."""
        if self._fused() and self.loss.fused_value is not None:
            return self.loss.fused_value(fwd.caches[-1].z, y)
        return self.loss.value(fwd.output, y)

    def batch_loss(self, fwd: ModelForward, y: Array, reduction: Reduction | None = None) -> float:
        losses = self.example_losses(fwd, y)
        return float(np.mean(losses) if (reduction or self.training.reduction) == "mean" else np.sum(losses))

    def backward(
        self, fwd: ModelForward, y: Array, reduction: Reduction | None = None, settle: Settle | None = None
    ) -> ModelBackward:
        """Backpropagation op by op, last first: ∂L/∂z through the activation (or from the loss
        fused with the last one), then the op's own map gives ∂L/∂θ and ∂L/∂input, which is the
        op before's ∂L/∂a. Gradients are of the batch loss (the sum or mean over examples).

        `settle` (the explained step's, record.model_step.settled) may change each op's ∂L/∂input
        and ∂L/∂θ before the op before reads them; training passes none."""
        scale = 1.0 / fwd.x.shape[0] if (reduction or self.training.reduction) == "mean" else 1.0
        count = len(self.ops)
        d_as: list[Array] = [np.empty(0)] * count
        d_zs: list[Array] = [np.empty(0)] * count
        d_xs: list[Array] = [np.empty(0)] * count
        d_params: list[dict[str, Array]] = [{} for _ in range(count)]
        last = fwd.caches[-1]
        d_a = self.loss.gradient(last.a, y) * scale
        fused = self._fused() and self.loss.fused_gradient is not None
        for i in range(count - 1, -1, -1):
            op, cache = self.ops[i], fwd.caches[i]
            if i == count - 1 and fused:
                assert self.loss.fused_gradient is not None
                d_z = self.loss.fused_gradient(last.z, last.a, y) * scale
            elif type(op).backward_z is Op.backward_z:
                d_z = d_a  # its activation is inside its own map (an RNN: z is every step's, a the last state)
            else:
                d_z = d_activation(op, cache, d_a)
            d_as[i], d_zs[i] = d_a, d_z
            d_xs[i], d_params[i] = _backward_z(op, d_z, d_a, cache)
            if settle is not None:
                d_xs[i], d_params[i] = settle(op, cache, d_z, d_xs[i], d_params[i])
            d_a = d_xs[i]
        buffers = [dict(cache.buffers) for cache in fwd.caches]
        return ModelBackward(d_as, d_zs, d_xs, d_params, self.batch_loss(fwd, y, reduction), fused, buffers)

    def gradients(self, back: ModelBackward) -> dict[str, Array]:
        """∂L/∂θ of every learnt tensor by its chainrule name."""
        grads: dict[str, Array] = {}
        for op, d_params in zip(self.ops, back.d_params, strict=True):
            names = op.tensor_names()
            for role in op.params():
                grads[names[role]] = d_params[role]
        return grads

    def updated(self, back: ModelBackward, learning_rate: float | None = None) -> Model:
        """One step of the training's optimizer on every tensor (frozen names excepted), batchnorm's
        running statistics taken from the forward pass; a new Model, this one unchanged.

        A frozen tensor (its name, or one element's ``W_c[1,2,1,1]``) has g = 0, as in the trainer:
        it stays where it is and its optimizer state stays 0."""
        lr = self.training.learning_rate if learning_rate is None else learning_rate
        t = self.steps_taken + 1
        frozen = set(self.training.freeze)
        state: dict[str, dict[str, Array]] = {}
        ops: list[Op] = []
        for i, op in enumerate(self.ops):
            names, moved = op.tensor_names(), {}
            for role, theta in op.params().items():
                name = names[role]
                g, mask = back.d_params[i][role], _learning_mask(name, theta.shape, frozen)
                if mask is not None:
                    g = g * mask
                moved[role], slots = step_array(
                    self.training.optimizer, theta, g, self.optimizer_state.get(name, {}), t, lr
                )
                if slots:
                    state[name] = slots
            buffers = back.buffers[i] if i < len(back.buffers) else {}
            ops.append(op.with_params(moved, buffers or None))
        return replace(self, ops=ops, optimizer_state=state, steps_taken=t)


def _backward_z(op: Op, d_z: Array, d_a: Array, cache: Cache) -> tuple[Array, dict[str, Array]]:
    """The op's backward from ∂L/∂z; an op that implements only `backward` (its activation inside
    its own map, identity outside) is given ∂L/∂a, which then equals ∂L/∂z."""
    if type(op).backward_z is Op.backward_z:
        return op.backward(d_a, cache)
    return op.backward_z(d_z, cache)


def _learning_mask(name: str, shape: tuple[int, ...], frozen: set[str]) -> Array | None:
    """0 where a tensor's element is frozen (the whole tensor, or ``name[i,j,…]``, 1-based), 1 where
    it learns; None where none of it is frozen."""
    if name in frozen:
        return np.zeros(shape)
    mask = np.ones(shape)
    for entry in frozen:
        if entry.startswith(name + "[") and entry.endswith("]"):
            parts = entry[len(name) + 1 : -1].split(",")
            if len(parts) == len(shape) and all(p.strip().isdigit() for p in parts):
                index = tuple(int(p) - 1 for p in parts)
                if all(0 <= k < n for k, n in zip(index, shape, strict=True)):
                    mask[index] = 0.0
    return None if mask.all() else mask
