"""Step functions: one update of a batch each, on the trainer's own arrays, returning the batch's
share of the epoch's running metrics (Σ example losses, Σ classified right) from the forward
pass the update made, before it moved anything.

`numpy_step` is the engine's forward and backward passes and any optimizer; `lean_step` plain SGD
on the lean NumPy path. `Trainer` calls one of them per batch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from chainrule.engine.network import Backward, Network
from chainrule.train.lean import LeanSGD
from chainrule.train.optim import Optimizer
from chainrule.train.records import right_count

Array = np.ndarray
StepFn = Callable[[Array, Array, float], tuple[float, float]]  # → (Σ example losses, Σ right) before it


def gradient_arrays(net: Network, back: Backward) -> list[Array]:
    """The backward pass's gradients in the order of `optim.network_parameters`."""
    grads: list[Array] = []
    for i, layer in enumerate(net.layers):
        grads.append(back.d_weight[i])
        if layer.bias_names:
            grads.append(back.d_bias[i])
        if layer.alpha_name:
            grads.append(back.d_alpha[i])
    return grads


def numpy_step(net: Network, optimizer: Optimizer) -> StepFn:
    """One update with the engine: forward, backward, then the optimizer's step on the arrays."""

    def step(x: Array, y: Array, learning_rate: float) -> tuple[float, float]:
        fwd = net.forward(x)
        sums = float(np.sum(net.example_losses(fwd, y))), right_count(net, fwd.output, y)
        optimizer.step(gradient_arrays(net, net.backward(fwd, y)), learning_rate)
        return sums

    return step


def lean_step(net: Network, size: int) -> StepFn:
    """One plain-SGD update on the lean NumPy path (in place, buffers kept)."""
    lean, mean = LeanSGD(net, size), net.training.reduction == "mean"

    def step(x: Array, y: Array, learning_rate: float) -> tuple[float, float]:
        loss = lean.step(x, y, learning_rate, mean)
        return loss * len(x) if mean else loss, lean.right

    return step
