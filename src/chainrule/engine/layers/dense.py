"""Dense (fully connected, PyTorch's Linear) as a shaped network's op: z = x Wᵀ + b over the last axis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from chainrule.engine.activations import ACTIVATIONS, Activation, Array
from chainrule.engine.layers.base import Cache, Op, Shape, activated, cancelled, nested, tensor_name

IDENTITY = ACTIVATIONS["identity"]


@dataclass
class Dense(Op):
    """z = x Wᵀ + b on the last axis (weight (units, fan_in), rows are receiving neurons, as in
    `Network`); a bias of size 0 means none (Linear(bias=False)). Leading axes other than the
    batch's, if any, share the weights, as PyTorch's Linear does."""

    kind: ClassVar[str] = "dense"
    name: str
    weight: Array  # (units, fan_in)
    bias: Array  # (units,), or (0,) for none
    activation: Activation = IDENTITY
    renames: dict[str, str] = field(default_factory=dict)  # role -> the file's own tensor name

    @property
    def units(self) -> int:
        return int(self.weight.shape[0])

    def out_shape(self, in_shape: Shape) -> Shape:
        return (*in_shape[:-1], self.units)

    def params(self) -> dict[str, Array]:
        return {"weight": self.weight, "bias": self.bias} if self.bias.size else {"weight": self.weight}

    def tensor_names(self) -> dict[str, str]:
        prefixes = {"weight": "W", "bias": "b"}
        return {role: tensor_name(self, role, prefixes[role], self.renames) for role in self.params()}

    def forward(self, x: Array, training: bool = True) -> Cache:
        z = x @ self.weight.T
        if self.bias.size:
            z = z + self.bias
        return activated(self, x, z)

    def backward_z(self, d_z: Array, cache: Cache) -> tuple[Array, dict[str, Array]]:
        """∂L/∂W = Σ over examples of δᵀ x, ∂L/∂b = Σ δ, ∂L/∂x = δ W."""
        flat_d = d_z.reshape(-1, self.units)
        flat_x = cache.x.reshape(-1, self.weight.shape[1])
        grads: dict[str, Array] = {"weight": cancelled(flat_d.T @ flat_x, np.abs(flat_d).T @ np.abs(flat_x))}
        if self.bias.size:
            grads["bias"] = cancelled(flat_d.sum(axis=0), np.abs(flat_d).sum(axis=0))
        return d_z @ self.weight, grads

    def with_params(self, params: Mapping[str, Array], buffers: Mapping[str, Array] | None = None) -> Dense:
        return replace(self, weight=params.get("weight", self.weight), bias=params.get("bias", self.bias))

    def to_dict(self) -> dict[str, Any]:
        table: dict[str, Any] = {"type": self.kind, "name": self.name, "units": self.units}
        table["activation"] = self.activation.name
        table["weight"] = nested(self.weight)
        if self.bias.size:
            table["bias"] = nested(self.bias)
        return table
