"""A chainrule network as a PyTorch module, for `--backend torch`: the same parameters, the same math.

The module is built from a `Spec` (plain data: picklable, so that worker processes can build it
too). Its parameters are the trainer's, in the order of `optim.network_parameters` (each layer's
weight, then its bias when it has named ones, then PReLU's α), so gradients and optimizer state
map one to one. A shared bias is one number broadcast over the layer, as in the engine:

    z = a_prev · Wᵀ + b,  a = f(z);  the loss is Σᵢ L(ŷᵢ, yᵢ) × (1/k for reduction "mean").

Imported only when the torch backend runs (torch is an optional extra).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.train.optim import network_parameters

LOSSES = ("half_squared_error", "squared_error", "mse", "binary_cross_entropy", "cross_entropy", "hinge")


@dataclass(frozen=True)
class LayerSpec:
    activation: str
    alpha: float  # the activation's fixed α (leaky ReLU, ELU); PReLU's is a parameter
    bias: str  # "shared", "neuron" or "none"
    has_bias: bool  # the bias is a (named) parameter
    learnable_alpha: bool


@dataclass(frozen=True)
class Spec:
    """What a worker needs to rebuild the network: layers, loss, and the starting parameters."""

    layers: tuple[LayerSpec, ...]
    loss: str
    params: tuple[np.ndarray, ...]
    masks: tuple[np.ndarray | None, ...]


def spec_of(net: Network) -> Spec:
    params, masks = network_parameters(net)
    layers = tuple(
        LayerSpec(la.activation.name, la.alpha_value(), la.bias_mode, bool(la.bias_names), bool(la.alpha_name))
        for la in net.layers
    )
    if net.loss.name not in LOSSES:
        raise ChainruleError(f"--backend torch: the loss {net.loss.name} has no PyTorch version here")
    return Spec(layers, net.loss.name, tuple(p.copy() for p in params), tuple(masks))


def activate(name: str, z: torch.Tensor, alpha: torch.Tensor | float) -> torch.Tensor:
    """Each activation as the engine defines it (its registry entry's formula)."""
    if name == "identity":
        return z
    if name == "binary_step":
        return (z >= 0).to(z.dtype) + 0.0 * z  # flat: zero derivative, as the engine's
    if name in ("sigmoid", "tanh"):
        return torch.sigmoid(z) if name == "sigmoid" else torch.tanh(z)
    if name in ("relu", "selu"):
        return F.relu(z) if name == "relu" else F.selu(z)
    if name == "leaky_relu":
        return F.leaky_relu(z, float(alpha))
    if name == "prelu":
        assert isinstance(alpha, torch.Tensor)
        return torch.where(z > 0, z, alpha * z)
    if name == "elu":
        return F.elu(z, float(alpha))
    if name == "softmax":
        return F.softmax(z, dim=-1)
    if name == "swish":
        return F.silu(z)
    if name == "gelu":
        return F.gelu(z, approximate="none")
    if name == "softplus":
        return F.softplus(z, threshold=1000.0)  # the exact log(1 + eˣ), as the engine, not z above 20
    raise ChainruleError(f"--backend torch: the activation {name} has no PyTorch version here")


def example_losses(name: str, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L(ŷᵢ, yᵢ) per example, from each loss's definition."""
    if name in ("half_squared_error", "squared_error"):
        return (0.5 if name == "half_squared_error" else 1.0) * ((y - a) ** 2).sum(-1)
    if name == "mse":
        return ((y - a) ** 2).mean(-1)
    if name == "binary_cross_entropy":
        return -(y * torch.log(a) + (1 - y) * torch.log(1 - a)).sum(-1)
    if name == "cross_entropy":
        return -(y * torch.log(a)).sum(-1)
    if a.shape[-1] == 1:  # hinge, one output with targets ±1
        return torch.clamp(1 - y[:, 0] * a[:, 0], min=0)
    correct = a.gather(1, y.argmax(-1)[:, None])
    return torch.clamp(a - correct + 1, min=0).sum(-1) - 1.0  # the target's own margin is exactly 1


class TorchNetwork(nn.Module):
    """The network's forward pass on PyTorch, its parameters in the trainer's order."""

    def __init__(self, spec: Spec, dtype: torch.dtype, device: torch.device) -> None:
        super().__init__()
        self.spec = spec
        self.weights = nn.ParameterList(nn.Parameter(torch.tensor(p, dtype=dtype, device=device)) for p in spec.params)
        self.masks = [None if m is None else torch.tensor(m, dtype=dtype, device=device) for m in spec.masks]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, i = x, 0
        for layer in self.spec.layers:
            z = a @ self.weights[i].T
            i += 1
            if layer.has_bias:
                z = z + self.weights[i]  # (units,) per neuron, or (1,) shared: broadcast over the layer
                i += 1
            alpha: torch.Tensor | float = layer.alpha
            if layer.learnable_alpha:
                alpha = self.weights[i]
                i += 1
            a = activate(layer.activation, z, alpha)
        return a

    def loss(self, x: torch.Tensor, y: torch.Tensor, scale: float) -> torch.Tensor:
        """Σᵢ L(ŷᵢ, yᵢ) × scale (1/k for a mean over the global batch, × processes under DDP)."""
        return example_losses(self.spec.loss, self(x), y).sum() * scale

    def masked_gradients(self, weight_decay: float) -> None:
        """g = ∂L/∂θ + λθ, zero where θ is frozen (the engine's rule, before any optimizer state)."""
        for p, mask in zip(self.weights, self.masks, strict=True):
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            if weight_decay:
                p.grad.add_(p.detach(), alpha=weight_decay)
            if mask is not None:
                p.grad.mul_(mask)


def make_optimizer(name: str, params: list[nn.Parameter], lr: float, momentum: float) -> torch.optim.Optimizer:
    """torch.optim's optimizer with the engine's settings (weight decay is applied by the masking)."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name in ("momentum", "nesterov"):
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=name == "nesterov")
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.99, eps=1e-8)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    raise ChainruleError(f"--optimizer: expected sgd, momentum, nesterov, rmsprop or adam, got {name!r}")


# The optimizer state each chainrule optimizer keeps, and torch.optim's name for it.
STATE_NAMES = {"momentum": {"velocity": "momentum_buffer"}, "nesterov": {"velocity": "momentum_buffer"},
               "rmsprop": {"square_avg": "square_avg"}, "adam": {"m": "exp_avg", "v": "exp_avg_sq"}}  # fmt: skip
