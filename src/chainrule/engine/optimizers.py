"""The optimizers' update rules for one parameter, as the explained step applies them.

These are the trainer's rules (``train/optim.py``) written per parameter, with the operations in
the same order so that an explained run and ``chainrule train`` give the same numbers (a test
holds the two to 1e-12). g is ∂L/∂θ (0 for a frozen θ), η the learning rate, t the update's count
from 1:

- sgd:      θ ← θ − η g
- momentum: v ← μ v + g,  θ ← θ − η v
- nesterov: v ← μ v + g,  θ ← θ − η (g + μ v)
- rmsprop:  s ← ρ s + (1 − ρ) g²,  θ ← θ − η g / (√s + ε)
- adam:     m ← β₁ m + (1 − β₁) g,  s ← β₂ s + (1 − β₂) g²,
            m̂ = m / (1 − β₁ᵗ),  ŝ = s / (1 − β₂ᵗ),  θ ← θ − η m̂ / (√ŝ + ε)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
# The state each optimizer carries from update to update, per parameter (v: velocity; m, s: the
# averages of g and g²), named as the record names them: v_w5, m_w5, s_w5.
SLOTS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("v",),
    "nesterov": ("v",),
    "rmsprop": ("s",),
    "adam": ("m", "s"),
}


@dataclass(frozen=True)
class Settings:
    """The optimizer and its constants, as the network file's [training] table gives them."""

    name: str = "sgd"
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    rho: float = 0.99
    eps: float = 1e-8


def step(
    s: Settings, theta: float, g: float, state: dict[str, float], t: int, lr: float
) -> tuple[float, dict[str, float]]:
    """θ after one update from gradient g, and the state after it (by slot: v, or m and s).

    ``state`` holds the slots before the update (absent means 0); ``t`` counts updates from 1.
    """
    if s.name == "sgd":
        return theta - lr * g, {}
    if s.name in ("momentum", "nesterov"):
        v = state.get("v", 0.0) * s.momentum + g
        direction = g + s.momentum * v if s.name == "nesterov" else v
        return theta - lr * direction, {"v": v}
    if s.name == "rmsprop":
        sq = state.get("s", 0.0) * s.rho + (1.0 - s.rho) * g * g
        return theta - lr * g / (math.sqrt(sq) + s.eps), {"s": sq}
    m = state.get("m", 0.0) * s.beta1 + (1.0 - s.beta1) * g
    sq = state.get("s", 0.0) * s.beta2 + (1.0 - s.beta2) * g * g
    c1, c2 = 1.0 - s.beta1**t, 1.0 - s.beta2**t
    # √ŝ + ε written as √s/√(1−β₂ᵗ) + ε, the trainer's (and PyTorch's) order.
    return theta - (lr / c1) * m / (math.sqrt(sq) / math.sqrt(c2) + s.eps), {"m": m, "s": sq}


def corrected(s: Settings, state: dict[str, float], t: int) -> dict[str, float]:
    """Adam's bias-corrected moments m̂ = m / (1 − β₁ᵗ), ŝ = s / (1 − β₂ᵗ) (empty for the others)."""
    if s.name != "adam":
        return {}
    return {"mhat": state["m"] / (1.0 - s.beta1**t), "shat": state["s"] / (1.0 - s.beta2**t)}
