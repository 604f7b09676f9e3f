"""Optimizers and learning-rate schedules: objects with ``step()``, updating parameter arrays in place.

Each optimizer holds a list of parameter arrays (the layers' own arrays, so the network sees every
update) and, per parameter, a 0/1 mask that is 0 where the parameter is frozen. A step takes the
gradients ∂L/∂θ the engine computed (``Network.backward``) and moves θ. The rules follow PyTorch's
``torch.optim`` defaults so that a PyTorch user gets the numbers they expect:

- L2 weight decay adds λθ to the gradient: g = ∂L/∂θ + λθ.
- L1 adds λ₁ sign(θ), the gradient of λ₁|θ| (0 at θ = 0, as PyTorch's sign): g = ∂L/∂θ + λθ + λ₁ sign(θ).
- A frozen parameter's g is masked to 0 before any state is touched, so it never moves and its
  optimizer state stays zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from chainrule.engine.network import Network
from chainrule.engine.optimizers import DEFAULTS, OPTIMIZERS, STATE, Settings
from chainrule.errors import ChainruleError

Array = np.ndarray
ScheduleKind = Literal["constant", "step", "cosine"]


class Optimizer:
    """The common part: parameters, frozen masks, weight decay, and the count of steps taken."""

    name: str = "sgd"
    state_keys: tuple[str, ...] = ()

    def __init__(
        self,
        params: Sequence[Array],
        learning_rate: float,
        *,
        weight_decay: float = 0.0,
        masks: Sequence[Array | None] | None = None,
        l1: float = 0.0,
    ) -> None:
        if not learning_rate > 0:
            raise ChainruleError(f"learning rate: expected a number > 0, got {learning_rate}")
        if weight_decay < 0:
            raise ChainruleError(f"weight decay: expected a number ≥ 0, got {weight_decay}")
        if l1 < 0:
            raise ChainruleError(f"L1: expected a number ≥ 0, got {l1}")
        self.params = list(params)
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.l1 = l1
        self.masks: list[Array | None] = list(masks) if masks is not None else [None] * len(self.params)
        self.steps = 0
        self.state: dict[str, list[Array]] = {k: [np.zeros_like(p) for p in self.params] for k in self.state_keys}

    def _gradient(self, i: int, grad: Array) -> Array:
        """g = ∂L/∂θ + λθ + λ₁ sign(θ), zero where θ is frozen (a new array: the engine's gradient is not touched)."""
        g = grad + self.weight_decay * self.params[i] if self.weight_decay else grad.copy()
        if self.l1:
            g += self.l1 * np.sign(self.params[i])
        mask = self.masks[i]
        if mask is not None:
            g *= mask
        return g

    def step(self, grads: Sequence[Array], learning_rate: float | None = None) -> None:
        """One update of every parameter from its gradient, at this step's learning rate."""
        lr = self.learning_rate if learning_rate is None else learning_rate
        self.steps += 1
        for i, grad in enumerate(grads):
            self._update(i, self._gradient(i, grad), lr)

    def _update(self, i: int, g: Array, lr: float) -> None:
        raise NotImplementedError

    @property
    def settings(self) -> Settings:
        """The rule and its constants, as engine.optimizers names them (what --backend torch and the
        generated script hand to torch.optim)."""
        return Settings(self.name)

    # -- checkpoints: plain lists of floats, so state can live in a readable file --------------
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"optimizer": self.name, "steps": self.steps}
        for key, arrays in self.state.items():
            state[key] = [float(v) for a in arrays for v in a.ravel()]
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("optimizer") != self.name:
            raise ChainruleError(f"checkpoint: expected optimizer state for {self.name}, got {state.get('optimizer')}")
        self.steps = int(state["steps"])
        for key, arrays in self.state.items():
            flat = np.asarray(state[key], dtype=np.float64)
            if flat.size != sum(a.size for a in arrays):
                raise ChainruleError(f"checkpoint: optimizer state {key!r} does not fit this network")
            start = 0
            for a in arrays:
                a[...] = flat[start : start + a.size].reshape(a.shape)
                start += a.size


class SGD(Optimizer):
    """θ ← θ − η g; with momentum μ: v ← μ v + g, θ ← θ − η v; Nesterov: θ ← θ − η (g + μ v)."""

    name = "sgd"

    def __init__(
        self,
        params: Sequence[Array],
        learning_rate: float,
        *,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        masks: Sequence[Array | None] | None = None,
    ) -> None:
        if not 0 <= momentum < 1:
            raise ChainruleError(f"momentum: expected a number in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ChainruleError("nesterov: expected a momentum > 0 (Nesterov is a kind of momentum)")
        self.state_keys = tuple(s.saved for s in STATE["momentum"]) if momentum else ()
        super().__init__(params, learning_rate, weight_decay=weight_decay, masks=masks, l1=l1)
        self.momentum, self.nesterov = momentum, nesterov
        if momentum:
            self.name = "nesterov" if nesterov else "momentum"

    def _update(self, i: int, g: Array, lr: float) -> None:
        p = self.params[i]
        if not self.momentum:
            p -= lr * g
            return
        v = self.state[self.state_keys[0]][i]
        v *= self.momentum
        v += g
        p -= lr * (g + self.momentum * v if self.nesterov else v)

    @property
    def settings(self) -> Settings:
        return Settings(self.name, momentum=self.momentum or DEFAULTS.momentum)


class RMSProp(Optimizer):
    """s ← ρ s + (1 − ρ) g², θ ← θ − η g / (√s + ε)."""

    name = "rmsprop"
    state_keys = tuple(s.saved for s in STATE["rmsprop"])

    def __init__(
        self,
        params: Sequence[Array],
        learning_rate: float,
        *,
        rho: float = DEFAULTS.rho,
        eps: float = DEFAULTS.eps,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        masks: Sequence[Array | None] | None = None,
    ) -> None:
        super().__init__(params, learning_rate, weight_decay=weight_decay, masks=masks, l1=l1)
        self.rho, self.eps = rho, eps

    def _update(self, i: int, g: Array, lr: float) -> None:
        s = self.state[self.state_keys[0]][i]
        s *= self.rho
        s += (1.0 - self.rho) * g * g
        self.params[i] -= lr * g / (np.sqrt(s) + self.eps)

    @property
    def settings(self) -> Settings:
        return Settings(self.name, rho=self.rho, eps=self.eps)


class Adam(Optimizer):
    """m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − η m̂ / (√v̂ + ε) with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)."""

    name = "adam"
    state_keys = tuple(s.saved for s in STATE["adam"])

    def __init__(
        self,
        params: Sequence[Array],
        learning_rate: float,
        *,
        beta1: float = DEFAULTS.beta1,
        beta2: float = DEFAULTS.beta2,
        eps: float = DEFAULTS.eps,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        masks: Sequence[Array | None] | None = None,
    ) -> None:
        super().__init__(params, learning_rate, weight_decay=weight_decay, masks=masks, l1=l1)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _update(self, i: int, g: Array, lr: float) -> None:
        m, v = (self.state[k][i] for k in self.state_keys)
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        v += (1.0 - self.beta2) * g * g
        t = self.steps
        correction1 = 1.0 - self.beta1**t
        correction2 = 1.0 - self.beta2**t
        # √v̂ + ε written as √v/√(1−β₂ᵗ) + ε, the order PyTorch uses, so the two agree to rounding.
        self.params[i] -= (lr / correction1) * m / (np.sqrt(v) / math.sqrt(correction2) + self.eps)

    @property
    def settings(self) -> Settings:
        return Settings(self.name, beta1=self.beta1, beta2=self.beta2, eps=self.eps)


def network_parameters(net: Network) -> tuple[list[Array], list[Array | None]]:
    """The network's own parameter arrays (weights, biases, learnable α per layer) and frozen masks."""
    frozen = set(net.training.freeze)
    params: list[Array] = []
    masks: list[Array | None] = []

    def add(array: Array, names: list[str]) -> None:
        params.append(array)
        keep = np.array([n not in frozen for n in names], dtype=array.dtype).reshape(array.shape)
        masks.append(None if keep.all() else keep)

    for layer in net.layers:
        params.append(layer.weight)
        masks.append(layer.frozen_mask(frozen))
        if layer.bias_names:
            add(layer.bias, layer.bias_names)
        if layer.alpha_name:
            add(layer.alpha, [layer.alpha_name])
    return params, masks


def make_optimizer(
    name: str,
    net: Network,
    learning_rate: float,
    *,
    momentum: float = DEFAULTS.momentum,
    constants: dict[str, float] | None = None,
    weight_decay: float = 0.0,
    l1: float = 0.0,
) -> Optimizer:
    """The optimizer `name` over the network's parameter arrays (which it then updates in place);
    ``constants`` gives β₁, β₂, ρ and ε (the network file's), engine.optimizers.DEFAULTS where absent."""
    c = {"beta1": DEFAULTS.beta1, "beta2": DEFAULTS.beta2, "rho": DEFAULTS.rho, "eps": DEFAULTS.eps} | (constants or {})
    params, masks = network_parameters(net)
    common: dict[str, Any] = {"weight_decay": weight_decay, "masks": masks, "l1": l1}
    if name == "sgd":
        return SGD(params, learning_rate, **common)
    if name in ("momentum", "nesterov"):
        return SGD(params, learning_rate, momentum=momentum, nesterov=name == "nesterov", **common)
    if name == "rmsprop":
        return RMSProp(params, learning_rate, rho=c["rho"], eps=c["eps"], **common)
    if name == "adam":
        return Adam(params, learning_rate, beta1=c["beta1"], beta2=c["beta2"], eps=c["eps"], **common)
    raise ChainruleError(f"--optimizer: expected one of {', '.join(OPTIMIZERS)}, got {name!r}")


@dataclass(frozen=True)
class Schedule:
    """The learning rate for each epoch e (from 0) of E.

    constant: η;  step: η · γ^⌊e / every⌋;  cosine: η_min + (η − η_min) · (1 + cos(π e / E)) / 2.
    """

    kind: ScheduleKind = "constant"
    every: int = 100
    gamma: float = 0.5
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("constant", "step", "cosine"):
            raise ChainruleError(f"--schedule: expected constant, step or cosine, got {self.kind!r}")
        if self.every < 1:
            raise ChainruleError(f"--step-every: expected a whole number ≥ 1, got {self.every}")
        if not 0 < self.gamma <= 1:
            raise ChainruleError(f"--gamma: expected a number in (0, 1], got {self.gamma}")

    def rate(self, base: float, epoch: int, epochs: int) -> float:
        if self.kind == "step":
            return base * self.gamma ** (epoch // self.every)
        if self.kind == "cosine":
            return self.min_lr + (base - self.min_lr) * (1.0 + math.cos(math.pi * epoch / max(epochs, 1))) / 2.0
        return base
