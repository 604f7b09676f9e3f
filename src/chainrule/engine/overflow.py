"""Where one update's numbers leave float64's range: found after the step, reported in one line.

The engine computes in stable forms (sigmoid from e^(−|z|), log-sum-exp), but weights of 1e300
times inputs of 1e10 still overflow a product. Such a step is computed under ``np.errstate`` (no
warning text) and then checked here, so the user gets the first value that left the range and
where, instead of a page of inf and nan.
"""

from __future__ import annotations

import numpy as np

from chainrule.engine.network import Backward, Forward, Network
from chainrule.errors import ChainruleError


def first_overflow(net: Network, fwd: Forward, back: Backward, y: np.ndarray) -> str | None:
    """The first value of the step that is not a finite number, in words ('z of layer h'); None when all are."""
    for layer, z, a in zip(net.layers, fwd.z, fwd.a[1:], strict=True):
        for what, values in (("z", z), ("a", a)):
            if not np.all(np.isfinite(values)):
                return f"{what} of layer {layer.name}"
    if not np.all(np.isfinite(net.example_losses(fwd, y))):
        return "the loss"
    for layer, d_w, d_b in zip(net.layers, back.d_weight, back.d_bias, strict=True):
        if not (np.all(np.isfinite(d_w)) and np.all(np.isfinite(d_b))):
            return f"the gradients of layer {layer.name}"
    return None


def require_finite(net: Network, fwd: Forward, back: Backward, y: np.ndarray, update: int) -> None:
    """Raise a one-line ChainruleError when the step of update `update` (0-based) left float64's range."""
    with np.errstate(all="ignore"):
        where = first_overflow(net, fwd, back, y)
    if where is not None:
        raise ChainruleError(
            f"{net.source}: update {update + 1}: expected numbers within float64's range (about ±1.8e308), "
            f"got {where} beyond it; the weights or inputs are too large for this network"
        )
