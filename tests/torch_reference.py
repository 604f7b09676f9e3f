"""Independent PyTorch definitions of every activation and loss, for parity tests in float64."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def torch_activation(name: str, z: torch.Tensor, alpha: torch.Tensor | float) -> torch.Tensor:
    if name == "identity":
        return z
    if name == "binary_step":
        return (z >= 0).to(z.dtype) + 0.0 * z  # the step: flat, zero derivative, still in the graph
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "relu":
        return F.relu(z)
    if name == "leaky_relu":
        return F.leaky_relu(z, float(alpha))
    if name == "prelu":
        assert isinstance(alpha, torch.Tensor)
        return F.prelu(z, alpha)
    if name == "elu":
        return F.elu(z, float(alpha))
    if name == "selu":
        return F.selu(z)
    if name == "softmax":
        return F.softmax(z, dim=-1)
    if name == "swish":
        return F.silu(z)
    if name == "gelu":
        return F.gelu(z, approximate="none")
    if name == "softplus":
        return F.softplus(z, threshold=1000.0)  # torch switches to z itself above 20 by default
    raise AssertionError(name)


def torch_loss(name: str, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example losses, written from their textbook definitions."""
    if name == "half_squared_error":
        return 0.5 * ((y - a) ** 2).sum(-1)
    if name == "squared_error":
        return ((y - a) ** 2).sum(-1)
    if name == "mse":
        return ((y - a) ** 2).mean(-1)
    if name == "binary_cross_entropy":
        return -(y * torch.log(a) + (1 - y) * torch.log(1 - a)).sum(-1)
    if name == "cross_entropy":
        return -(y * torch.log(a)).sum(-1)
    if name == "hinge":
        if a.shape[-1] == 1:
            return torch.clamp(1 - y[:, 0] * a[:, 0], min=0)
        c = y.argmax(-1)
        correct = a.gather(1, c[:, None])
        margins = torch.clamp(a - correct + 1, min=0)
        return margins.sum(-1) - 1.0  # the target class's own margin is exactly 1
    raise AssertionError(name)
