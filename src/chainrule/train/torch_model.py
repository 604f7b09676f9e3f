"""Training a chainrule network on PyTorch, for `--backend torch`: the same parameters, the same math.

The module itself is `chainrule.io.torch.to_torch`'s (the one place a layer becomes PyTorch: its
activations, shared biases and frozen masks); what training adds is here: a `Model` that worker
processes can rebuild (plain data: picklable), the losses (fused where the engine fuses them),
the masked update and torch.optim's optimizers with the file's constants. Per layer

    z = a_prev · Wᵀ + b,  a = f(z);  the loss is Σᵢ L(ŷᵢ, yᵢ) × (1/k for reduction "mean").

Imported only when the torch backend runs (torch is an optional extra).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from chainrule.engine.network import Network
from chainrule.engine.optimizers import OPTIMIZERS, STATE, Settings
from chainrule.errors import ChainruleError
from chainrule.io.torch import architecture, from_architecture, ordered_parameters
from chainrule.train.optim import network_parameters

LOSSES = ("half_squared_error", "squared_error", "mse", "binary_cross_entropy", "cross_entropy", "hinge")


@dataclass(frozen=True)
class Model:
    """What a worker needs to rebuild the network: its architecture (names, activations, biases,
    frozen parameters, loss) and its parameters in the trainer's order."""

    architecture: dict[str, Any]
    loss: str
    params: tuple[np.ndarray, ...]

    def build(self, dtype: torch.dtype, device: torch.device) -> tuple[torch.nn.Module, list[tuple[Any, Any]]]:
        """`to_torch`'s module with these parameters, and its (parameter, keep mask) list."""
        model = from_architecture(self.architecture, portable=False).to(device=device, dtype=dtype)
        ordered = ordered_parameters(model)
        with torch.no_grad():
            for (param, _), value in zip(ordered, self.params, strict=True):
                param.copy_(torch.from_numpy(np.asarray(value)).reshape(param.shape))
        return model, ordered


def model_of(net: Network) -> Model:
    """The network as a `Model`; one line for a loss PyTorch cannot run here."""
    if net.loss.name not in LOSSES:
        raise ChainruleError(f"--backend torch: the loss {net.loss.name} has no PyTorch version here")
    arch = architecture(net, examples=False)  # the trainer's data travel on their own
    return Model(arch, net.loss.name, tuple(p.copy() for p in network_parameters(net)[0]))


def example_losses(name: str, z: torch.Tensor, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L(ŷᵢ, yᵢ) per example; from the output layer's z where the engine fuses the loss with its
    activation (log-softmax for cross-entropy, softplus(z) − y·z for binary cross-entropy), so
    saturated outputs (z = ±800) give the engine's finite numbers rather than log(0)."""
    if name in ("half_squared_error", "squared_error"):
        return (0.5 if name == "half_squared_error" else 1.0) * ((y - a) ** 2).sum(-1)
    if name == "mse":
        return ((y - a) ** 2).mean(-1)
    if name == "binary_cross_entropy":  # −[y log σ(z) + (1 − y) log(1 − σ(z))] = max(z, 0) − y·z + log(1 + e^−|z|)
        return F.binary_cross_entropy_with_logits(z, y, reduction="none").sum(-1)
    if name == "cross_entropy":  # −Σ y log softmax(z), the targets as probabilities
        return F.cross_entropy(z, y, reduction="none")
    if a.shape[-1] == 1:  # hinge, one output with targets ±1
        return torch.clamp(1 - y[:, 0] * a[:, 0], min=0)
    correct = a.gather(1, y.argmax(-1)[:, None])
    return torch.clamp(a - correct + 1, min=0).sum(-1) - 1.0  # the target's own margin is exactly 1


class Outputs(torch.nn.Module):
    """A `to_torch` model that returns the output layer's z with its activation a, (z, a): the
    fused losses read z (DistributedDataParallel wraps this, so both come out of one call)."""

    def __init__(self, model: torch.nn.Sequential) -> None:
        super().__init__()
        self.body, self.last = model[:-1], model[-1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.body(x)
        return z, self.last(z)


def masked_gradients(ordered: list[tuple[Any, Any]], weight_decay: float) -> None:
    """g = ∂L/∂θ + λθ, zero where θ is frozen (the engine's rule, before any optimizer state)."""
    for p, keep in ordered:
        if p.grad is None:  # a wholly frozen parameter (requires_grad off) gets a zero step
            p.grad = torch.zeros_like(p)
        if weight_decay:
            p.grad.add_(p.detach(), alpha=weight_decay)
        if keep is not None:
            p.grad.mul_(keep)


def make_optimizer(s: Settings, params: list[Any], lr: float) -> torch.optim.Optimizer:
    """torch.optim's optimizer with the file's constants (engine.optimizers.Settings: μ, ρ, β₁, β₂,
    ε); weight decay is applied by the masking, before the step, as the engine does."""
    if s.name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if s.name in ("momentum", "nesterov"):
        return torch.optim.SGD(params, lr=lr, momentum=s.momentum, nesterov=s.name == "nesterov")
    if s.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=s.rho, eps=s.eps)
    if s.name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(s.beta1, s.beta2), eps=s.eps)
    raise ChainruleError(f"--optimizer: expected one of {', '.join(OPTIMIZERS)}, got {s.name!r}")


def state_names(name: str) -> dict[str, str]:
    """Each piece of the optimizer's state: the trainer's (checkpoint) name → torch.optim's."""
    return {slot.saved: slot.torch for slot in STATE[name]}
