"""Shaped-network ops for the checker's tests, each one PyTorch function with autograd for its backward
(correct by construction), keeping the `engine.layers.base` contract; and a Model whose shapes,
parameters and plain-SGD update they give. The checker reads only the contract, so the same tests
run on the engine's own ops once a test builds its Model from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from chainrule.engine.activations import ACTIVATIONS, Activation, Array
from chainrule.engine.functions import LOSSES
from chainrule.engine.layers.base import Cache, Op, Shape, d_activation
from chainrule.engine.model import Model
from chainrule.engine.network import Training

IDENTITY = ACTIVATIONS["identity"]


@dataclass
class Standin(Op):
    name: str
    tensors: dict[str, Array] = field(default_factory=dict)
    activation: Activation = IDENTITY
    stride: int = 1
    padding: int = 0
    kernel: int = 2
    eps: float = 1e-5
    prefixes: ClassVar[dict[str, str]] = {"weight": "W", "bias": "b"}

    def fn(self, x: torch.Tensor, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def out_shape(self, in_shape: Shape) -> Shape:
        z = self.fn(
            torch.rand((2, *in_shape), dtype=torch.float64), {k: torch.tensor(v) for k, v in self.tensors.items()}
        )
        return tuple(z.shape[1:])

    def params(self) -> dict[str, Array]:
        return dict(self.tensors)

    def tensor_names(self) -> dict[str, str]:
        return {role: f"{self.prefixes[role]}_{self.name}" for role in self.tensors}

    def forward(self, x: Array, training: bool = True) -> Cache:
        z = self.fn(torch.tensor(x), {k: torch.tensor(v) for k, v in self.tensors.items()}).numpy()
        return Cache(x=x, z=z, a=self.activation.value(z, float(self.activation.alpha or 0.0)))

    def backward(self, d_a: Array, cache: Cache) -> tuple[Array, dict[str, Array]]:
        return self.backward_z(d_activation(self, cache, d_a), cache)

    def backward_z(self, d_z: Array, cache: Cache) -> tuple[Array, dict[str, Array]]:
        x = torch.tensor(cache.x, requires_grad=True)
        p = {k: torch.tensor(v, requires_grad=True) for k, v in self.tensors.items()}
        z = self.fn(x, p)
        grads = torch.autograd.grad(z, [x, *p.values()], torch.tensor(d_z), allow_unused=True)
        out = [
            np.zeros_like(t) if g is None else g.numpy()
            for g, t in zip(grads, [cache.x, *self.tensors.values()], strict=True)
        ]
        return out[0], dict(zip(self.tensors, out[1:], strict=True))

    def with_params(self, params: Mapping[str, Array], buffers: Mapping[str, Array] | None = None) -> Op:
        return replace(self, tensors={**self.tensors, **params})

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "name": self.name, "stride": self.stride, "padding": self.padding}


class Conv(Standin):
    kind: ClassVar[str] = "conv2d"

    def fn(self, x: torch.Tensor, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return F.conv2d(x, p["weight"], p.get("bias"), stride=self.stride, padding=self.padding)


class MaxPool(Standin):
    kind: ClassVar[str] = "maxpool2d"

    def fn(self, x: torch.Tensor, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return F.max_pool2d(x, self.kernel, self.stride)


class AvgPool(Standin):
    kind: ClassVar[str] = "avgpool2d"

    def fn(self, x: torch.Tensor, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return F.avg_pool2d(x, self.kernel, self.stride)


class Flatten(Standin):
    kind: ClassVar[str] = "flatten"

    def fn(self, x: torch.Tensor, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)


class Dense(Standin):
    kind: ClassVar[str] = "dense"

    def fn(self, x: torch.Tensor, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return F.linear(x, p["weight"], p.get("bias"))


class BatchNorm(Standin):
    kind: ClassVar[str] = "batchnorm"
    prefixes: ClassVar[dict[str, str]] = {"weight": "gamma", "bias": "beta"}

    def fn(self, x: torch.Tensor, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return F.batch_norm(x, None, None, p["weight"], p["bias"], training=True, eps=self.eps)


class Residual(Standin):
    """z = x + W₂·relu(W₁·x) on features (the block's inner activation fixed to ReLU)."""

    kind: ClassVar[str] = "residual"
    prefixes: ClassVar[dict[str, str]] = {"weight1": "W1", "weight2": "W2"}

    def fn(self, x: torch.Tensor, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return x + F.linear(torch.relu(F.linear(x, p["weight1"])), p["weight2"])


class RNN(Standin):
    """h_t = tanh(W_x x_t + b_ih + W_h h_{t−1} + b_hh), h_0 = 0; z the pre-activations, a the states."""

    kind: ClassVar[str] = "rnn"
    prefixes: ClassVar[dict[str, str]] = {
        "weight_ih_l0": "Wx",
        "weight_hh_l0": "Wh",
        "bias_ih_l0": "bx",
        "bias_hh_l0": "bh",
    }

    def run(self, x: torch.Tensor, p: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.zeros(x.shape[0], p["weight_hh_l0"].shape[0], dtype=x.dtype)
        zs, hs = [], []
        for t in range(x.shape[1]):
            z = F.linear(x[:, t], p["weight_ih_l0"], p["bias_ih_l0"]) + F.linear(h, p["weight_hh_l0"], p["bias_hh_l0"])
            h = torch.tanh(z)
            zs.append(z)
            hs.append(h)
        return torch.stack(zs, 1), torch.stack(hs, 1)

    def fn(self, x: torch.Tensor, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.run(x, p)[1]

    def forward(self, x: Array, training: bool = True) -> Cache:
        z, a = self.run(torch.tensor(x), {k: torch.tensor(v) for k, v in self.tensors.items()})
        return Cache(x=x, z=z.numpy(), a=a.numpy())

    def backward(self, d_a: Array, cache: Cache) -> tuple[Array, dict[str, Array]]:
        return self.backward_z(d_a, cache)  # the activation is inside the map: fn gives a


class StandinModel(Model):
    """A Model whose shapes, parameters and (plain SGD) update the stand-in ops give."""

    def shapes(self) -> list[Shape]:
        out = [self.input_shape]
        for op in self.ops:
            out.append(op.out_shape(out[-1]))
        return out

    def parameters(self) -> dict[str, Array]:
        return {op.tensor_names()[r]: t for op in self.ops for r, t in op.params().items()}

    def updated(self, back: Any, learning_rate: float | None = None) -> Model:
        rate = self.training.learning_rate if learning_rate is None else learning_rate
        ops = [
            op.with_params({r: t - rate * back.d_params[i][r] for r, t in op.params().items()})
            for i, op in enumerate(self.ops)
        ]
        return replace(self, ops=ops)


def model(ops: list[Op], input_shape: Shape, x: Array, y: Array, loss: str, rate: float = 0.1) -> StandinModel:
    return StandinModel("test", input_shape, ops, LOSSES[loss], x, y, Training(learning_rate=rate, batch="full"))


def act(name: str) -> Activation:
    return ACTIVATIONS[name]
