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

from dataclasses import dataclass, field
from typing import Any

from chainrule.engine.activations import Array
from chainrule.engine.functions import Loss
from chainrule.engine.layers.base import Cache, Op, Shape
from chainrule.engine.network import Reduction, Training


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
    op's tensor gradients by role (``d_params[i]``); ``loss`` is the batch loss they are of."""

    d_a: list[Array]
    d_z: list[Array]
    d_x: list[Array]
    d_params: list[dict[str, Array]]
    loss: float
    fused: bool


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

    # The bodies are written by the engine's owner; the signatures are the contract.
    def shapes(self) -> list[Shape]:
        """One example's shape at every point: the input's, then each op's output."""
        raise NotImplementedError

    def parameters(self) -> dict[str, Array]:
        """Every learnt tensor by its chainrule name, in op order."""
        raise NotImplementedError

    def parameter_count(self) -> int:
        raise NotImplementedError

    def forward(self, x: Array, training: bool = True) -> ModelForward:
        raise NotImplementedError

    def batch_loss(self, fwd: ModelForward, y: Array, reduction: Reduction | None = None) -> float:
        raise NotImplementedError

    def backward(self, fwd: ModelForward, y: Array, reduction: Reduction | None = None) -> ModelBackward:
        raise NotImplementedError

    def gradients(self, back: ModelBackward) -> dict[str, Array]:
        """∂L/∂θ of every learnt tensor by its chainrule name."""
        raise NotImplementedError

    def updated(self, back: ModelBackward, learning_rate: float | None = None) -> Model:
        """One step of the training's optimizer on every tensor (frozen names excepted), batchnorm's
        running statistics taken from the forward pass; a new Model, this one unchanged."""
        raise NotImplementedError
