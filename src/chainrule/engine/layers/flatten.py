"""Flatten: a feature map (C, H, W) as one vector, in PyTorch's row-major (C, H, W) order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from chainrule.engine.activations import Activation, Array
from chainrule.engine.layers.base import Cache, Op, Shape, activated
from chainrule.engine.layers.dense import IDENTITY


@dataclass
class Flatten(Op):
    """z[n, c·H·W + h·W + w] = x[n, c, h, w] (nn.Flatten's order); its backward reshapes back."""

    kind: ClassVar[str] = "flatten"
    name: str
    activation: Activation = IDENTITY

    def out_shape(self, in_shape: Shape) -> Shape:
        return (int(np.prod(in_shape, dtype=np.int64)),)

    def forward(self, x: Array, training: bool = True) -> Cache:
        return activated(self, x, x.reshape(x.shape[0], -1))

    def backward_z(self, d_z: Array, cache: Cache) -> tuple[Array, dict[str, Array]]:
        return d_z.reshape(cache.x.shape), {}

    def with_params(self, params: Mapping[str, Array], buffers: Mapping[str, Array] | None = None) -> Flatten:
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "name": self.name, "activation": self.activation.name}
