"""What chainrule's PyTorch modules share: torch imported on first use, and chainrule's activations
as torch.nn modules (both ways). `io.torch` (dense networks), `io.torch_shaped` (shaped ones) and
`io.torchfile` (the .pt file) build on it.
"""

from __future__ import annotations

from typing import Any

from chainrule.errors import ChainruleError

# chainrule's activations and the torch.nn module of each; binary_step has none (its gradient is 0
# everywhere PyTorch would need one, and no module computes it).
TORCH_MODULES = {
    "identity": "Identity",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "prelu": "PReLU",
    "elu": "ELU",
    "selu": "SELU",
    "softmax": "Softmax",
    "swish": "SiLU",
    "gelu": "GELU",
    "softplus": "Softplus",
}
# PyTorch's softplus returns z itself above a threshold (20 by default); above 40 log(1 + e^z) is z
# in float64 too, so this threshold keeps it equal to the engine's.
SOFTPLUS_THRESHOLD = 40.0


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ChainruleError("PyTorch is not installed: pip install 'chainrule[torch]'") from None
    return torch


def _activation_of(module: Any, where: str) -> tuple[str, dict[str, Any]]:
    """chainrule's name for a torch.nn activation module, and its α where it has one."""
    nn = _torch().nn
    kind = type(module).__name__
    by_module = {v: k for k, v in TORCH_MODULES.items()}
    if kind not in by_module or type(module) is not getattr(nn, kind):
        raise ChainruleError(f"{where}: expected Linear or one of {', '.join(by_module)}, got {kind}")
    name = by_module[kind]
    if name in ("leaky_relu", "elu"):
        return name, {"alpha": float(module.negative_slope if name == "leaky_relu" else module.alpha)}
    if name == "prelu":
        if module.weight.numel() != 1:
            raise ChainruleError(f"{where}: expected PReLU with one α (num_parameters=1), got {module.weight.numel()}")
        return name, {"alpha": float(module.weight.detach()[0])}
    if name == "softmax" and module.dim not in (-1, 1, None):
        raise ChainruleError(f"{where}: expected Softmax over the last dimension (dim=-1), got dim={module.dim}")
    if name == "gelu" and module.approximate != "none":
        raise ChainruleError(f"{where}: expected GELU(approximate='none'), got approximate={module.approximate!r}")
    if name == "softplus" and module.beta != 1:
        raise ChainruleError(f"{where}: expected Softplus with beta=1, got beta={module.beta}")
    return name, {}
