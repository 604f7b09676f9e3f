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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")


@dataclass(frozen=True)
class Slot:
    """One piece of state an optimizer carries per parameter, under each of its three names: the
    record's (``v`` in v_w5), the checkpoint's (the trainer's ``Optimizer.state`` key) and
    torch.optim's (its ``optimizer.state[p]`` key, for ``--backend torch``)."""

    record: str
    saved: str
    torch: str


_VELOCITY = Slot("v", "velocity", "momentum_buffer")
# Each optimizer's state, in one table: every user (the explained step, the trainer, its
# checkpoints, the torch backend) reads its names from here.
STATE: dict[str, tuple[Slot, ...]] = {
    "sgd": (),
    "momentum": (_VELOCITY,),
    "nesterov": (_VELOCITY,),
    "rmsprop": (Slot("s", "square_avg", "square_avg"),),
    "adam": (Slot("m", "m", "exp_avg"), Slot("s", "v", "exp_avg_sq")),
}
# The record's names alone (v_w5, m_w5, s_w5), as the explained step and its graph use them.
SLOTS: dict[str, tuple[str, ...]] = {name: tuple(s.record for s in slots) for name, slots in STATE.items()}


@dataclass(frozen=True)
class Settings:
    """The optimizer and its constants, as the network file's [training] table gives them. The
    defaults here (PyTorch's) are chainrule's only ones: the trainer, the torch backend and the
    generated script take every constant from a Settings."""

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
    return _rule(s, theta, g, state, t, lr, math.sqrt)


def step_array(
    s: Settings, theta: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], t: int, lr: float
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """`step` on a whole tensor (a shaped network's): the same rules, constants and order."""
    return _rule(s, theta, g, state, t, lr, np.sqrt)


def _rule(s: Settings, theta: Any, g: Any, state: Mapping[str, Any], t: int, lr: float, sqrt: Any) -> Any:
    """The one definition of every update, for a number (math.sqrt) or an array (np.sqrt)."""
    if s.name == "sgd":
        return theta - lr * g, {}
    if s.name in ("momentum", "nesterov"):
        v = state.get("v", 0.0) * s.momentum + g
        direction = g + s.momentum * v if s.name == "nesterov" else v
        return theta - lr * direction, {"v": v}
    if s.name == "rmsprop":
        sq = state.get("s", 0.0) * s.rho + (1.0 - s.rho) * g * g
        return theta - lr * g / (sqrt(sq) + s.eps), {"s": sq}
    m = state.get("m", 0.0) * s.beta1 + (1.0 - s.beta1) * g
    sq = state.get("s", 0.0) * s.beta2 + (1.0 - s.beta2) * g * g
    c1, c2 = corrections(s, t)
    # √ŝ + ε written as √s/√(1−β₂ᵗ) + ε, the trainer's (and PyTorch's) order.
    return theta - (lr / c1) * m / (sqrt(sq) / math.sqrt(c2) + s.eps), {"m": m, "s": sq}


def corrections(s: Settings, t: int) -> tuple[float, float]:
    """Adam's bias corrections at update t (from 1): 1 − β₁ᵗ and 1 − β₂ᵗ."""
    return 1.0 - s.beta1**t, 1.0 - s.beta2**t


def corrected(s: Settings, state: dict[str, float], t: int) -> dict[str, float]:
    """Adam's bias-corrected moments m̂ = m / (1 − β₁ᵗ), ŝ = s / (1 − β₂ᵗ) (empty for the others)."""
    if s.name != "adam":
        return {}
    c1, c2 = corrections(s, t)
    return {"mhat": state["m"] / c1, "shat": state["s"] / c2}


DEFAULTS = Settings()  # every optimizer's constants where the file gives none (PyTorch's defaults)
