"""Batch normalisation (1-D on (n, features), 2-D on (n, C, H, W)), as PyTorch's BatchNorm1d/2d.

Training mode normalises each channel c by its batch statistics over the M values it has in the
batch (every example, and every position of a feature map):

    μ = (1/M) Σ x,   σ² = (1/M) Σ (x − μ)²  (biased),   x̂ = (x − μ) / √(σ² + ε),   z = γ x̂ + β

and keeps running statistics for prediction, as PyTorch does (momentum 0.1, the UNBIASED variance):
running_mean ← (1 − m) running_mean + m μ, running_var ← (1 − m) running_var + m σ² M/(M − 1).
With ``training=False`` the running statistics take μ's and σ²'s places and are left as they are.

The backward follows x through its three paths (`paths`): x̂ directly, through μ, through σ².
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from chainrule.engine.activations import Activation, Array
from chainrule.engine.layers.base import Cache, Op, Shape, activated, nested, tensor_name
from chainrule.engine.layers.dense import IDENTITY
from chainrule.errors import ChainruleError

EPS = 1e-5  # PyTorch's
MOMENTUM = 0.1  # PyTorch's


@dataclass
class BatchNorm(Op):
    """γ (``weight``) and β (``bias``) learnt per channel; ``running_mean`` and ``running_var`` kept."""

    kind: ClassVar[str] = "batchnorm"
    name: str
    weight: Array  # γ, (C,)
    bias: Array  # β, (C,)
    running_mean: Array
    running_var: Array
    eps: float = EPS
    momentum: float = MOMENTUM
    activation: Activation = IDENTITY
    renames: dict[str, str] = field(default_factory=dict)

    @property
    def features(self) -> int:
        return int(self.weight.shape[0])

    def out_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) not in (1, 2, 3) or in_shape[0] != self.features:
            raise ChainruleError(
                f"layer {self.name}: expected an input of {self.features} features or channels first, got {list(in_shape)}"
            )
        return tuple(in_shape)

    def params(self) -> dict[str, Array]:
        return {"weight": self.weight, "bias": self.bias}

    def buffers(self) -> dict[str, Array]:
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def tensor_names(self) -> dict[str, str]:
        prefixes = {"weight": "gamma", "bias": "beta"}
        return {role: tensor_name(self, role, prefixes[role], self.renames) for role in self.params()}

    def forward(self, x: Array, training: bool = True) -> Cache:
        axes, shape = _axes(x)
        count = x.size // self.features  # M: the values each channel has in this batch
        if training:
            if count < 2:
                raise ChainruleError(
                    f"layer {self.name}: expected more than one value per channel to train, got {count}"
                )
            mean, var = x.mean(axis=axes), x.var(axis=axes)
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + self.eps)
        z = self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)
        cache = activated(self, x, z, x_hat=x_hat, mean=mean, var=var, training=training)
        if training:
            m = self.momentum
            cache.buffers["running_mean"] = (1 - m) * self.running_mean + m * mean
            cache.buffers["running_var"] = (1 - m) * self.running_var + m * var * (count / (count - 1))
        return cache

    def paths(self, d_z: Array, cache: Cache) -> dict[str, Array]:
        """∂L/∂x split by the path it takes from x to L, each (n, *shape):

        - ``direct``: through x̂ alone, ∂L/∂x̂ / √(σ² + ε) with ∂L/∂x̂ = γ δ;
        - ``mean``: through μ, (1/M) ∂L/∂μ with ∂L/∂μ = −Σ ∂L/∂x̂ / √(σ² + ε) − ∂L/∂σ² (2/M) Σ (x − μ);
        - ``variance``: through σ², ∂L/∂σ² · 2(x − μ)/M with ∂L/∂σ² = −½ Σ ∂L/∂x̂ (x − μ)(σ² + ε)^(−3/2).

        In prediction mode μ and σ² are constants: only the direct path is there."""
        axes, shape = _axes(d_z)
        count = d_z.size // self.features
        d_x_hat = d_z * self.weight.reshape(shape)
        inv_std = 1.0 / np.sqrt(cache.extra["var"].reshape(shape) + self.eps)
        paths = {"direct": d_x_hat * inv_std}
        if not cache.extra["training"]:
            return paths
        centred = cache.x - cache.extra["mean"].reshape(shape)
        d_var = -0.5 * np.sum(d_x_hat * centred, axis=axes, keepdims=True) * inv_std**3
        d_mean = (
            -np.sum(d_x_hat, axis=axes, keepdims=True) * inv_std
            - d_var * 2.0 * np.sum(centred, axis=axes, keepdims=True) / count
        )
        paths["mean"] = np.broadcast_to(d_mean / count, d_z.shape)
        paths["variance"] = d_var * 2.0 * centred / count
        return paths

    def backward_z(self, d_z: Array, cache: Cache) -> tuple[Array, dict[str, Array]]:
        """∂L/∂γ = Σ δ x̂, ∂L/∂β = Σ δ, ∂L/∂x = the sum of the three `paths`."""
        axes, _ = _axes(d_z)
        paths = self.paths(d_z, cache).values()
        d_x = sum(paths, np.zeros_like(d_z))
        if cache.extra["training"]:
            # x̂ does not change when a channel's every x moves alike: ∂L/∂x sums to 0 over the batch
            # on paper. Float64 leaves 10⁻¹⁷ there, which a bias before this layer took as its
            # gradient; taking the drift's mean out makes that sum 0 below rounding (then `cancelled`).
            d_x = d_x - d_x.mean(axis=axes, keepdims=True)
        return d_x, {"weight": np.sum(d_z * cache.extra["x_hat"], axis=axes), "bias": np.sum(d_z, axis=axes)}

    def with_params(self, params: Mapping[str, Array], buffers: Mapping[str, Array] | None = None) -> BatchNorm:
        kept = buffers or {}
        return replace(
            self,
            weight=params.get("weight", self.weight),
            bias=params.get("bias", self.bias),
            running_mean=kept.get("running_mean", self.running_mean),
            running_var=kept.get("running_var", self.running_var),
        )

    def to_dict(self) -> dict[str, Any]:
        table: dict[str, Any] = {"type": self.kind, "name": self.name, "features": self.features}
        table |= {"eps": self.eps, "momentum": self.momentum, "activation": self.activation.name}
        table |= {"weight": nested(self.weight), "bias": nested(self.bias)}
        table |= {"running_mean": nested(self.running_mean), "running_var": nested(self.running_var)}
        return table


def _axes(x: Array) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The axes a channel's statistics run over (the batch's and every spatial one), and the shape
    that broadcasts a per-channel vector against x."""
    return (0, *range(2, x.ndim)), (1, x.shape[1], *([1] * (x.ndim - 2)))
