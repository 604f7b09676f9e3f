"""The registry: activations and losses by name, and which of them the engine can pair.

The functions themselves live in `activations` and `losses`; this module is the one place that
says what goes together, so the file reader and the web page refuse the same impossible networks
with the same suggestion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chainrule.engine.activations import (
    ACTIVATIONS,
    SELU_ALPHA,
    SELU_SCALE,
    Activation,
    Array,
    log_softmax,
    sigmoid,
    softmax,
    softmax_backward,
    softplus,
)
from chainrule.engine.losses import LOSSES, Loss

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "SELU_ALPHA",
    "SELU_SCALE",
    "Activation",
    "Array",
    "Loss",
    "Refusal",
    "known",
    "log_softmax",
    "pairing_refusal",
    "sigmoid",
    "softmax",
    "softmax_backward",
    "softplus",
    "target_refusal",
]

# Outputs that are probabilities in (0, 1): a hinge margin of 1 between them can never be met, so
# the hinge loss would push forever without meaning anything.
_PROBABILITY_OUTPUTS = ("sigmoid", "softmax")
_ONE_OUTPUT_HINT = 'for one yes/no output use loss = "binary_cross_entropy" with a sigmoid output'


def known(kind: str) -> list[str]:
    """The canonical names of the activations (kind='activation') or losses, for messages."""
    if kind == "activation":
        return sorted({a.name for a in ACTIVATIONS.values()})
    return sorted(LOSSES)


@dataclass(frozen=True)
class Refusal:
    """Why a network cannot be computed meaningfully: the layer at fault, its key, and what to do instead."""

    layer: int
    key: str
    expected: str


def pairing_refusal(loss: Loss, layers: Sequence[tuple[Activation, int]]) -> Refusal | None:
    """The first impossible combination of the loss and the layers' (activation, units), or None.

    softmax normalises over a layer, so it belongs to the output and needs two units or more (one
    unit's softmax is always 1: the loss is constant and every gradient 0). Cross-entropy and binary
    cross-entropy are defined on probabilities from softmax and sigmoid; hinge on raw scores.
    """
    last = len(layers) - 1
    for i, (act, _units) in enumerate(layers[:-1]):
        if not act.elementwise:
            return Refusal(
                i,
                "activation",
                f"{act.name} only in the output layer (its outputs are probabilities "
                "for the loss); use sigmoid, tanh or relu in a hidden layer",
            )
    out, units = layers[last]
    if not out.elementwise and units < 2:
        hint = _ONE_OUTPUT_HINT if loss.name == "cross_entropy" else "for one output use sigmoid"
        return Refusal(
            last,
            "units",
            f"2 or more units for {out.name} (one unit's {out.name} is always 1: "
            f"the loss never changes and every gradient is 0); {hint}",
        )
    if loss.requires_activation and out.name not in loss.requires_activation:
        want = " or ".join(loss.requires_activation)
        hint = f"; {_ONE_OUTPUT_HINT}" if loss.name == "cross_entropy" and units == 1 else ""
        return Refusal(last, "activation", f"{want} in the output layer for loss {loss.name}{hint}")
    if loss.name == "hinge" and out.name in _PROBABILITY_OUTPUTS:
        return Refusal(
            last,
            "activation",
            "identity or tanh in the output layer for loss hinge (it compares raw "
            "scores with a margin of 1; for probabilities use cross_entropy or binary_cross_entropy)",
        )
    return None


def target_refusal(loss: Loss, outputs: int, y: Array) -> str | None:
    """What the targets y must be for this loss, when some are not; None when all are fine."""
    if not y.size:
        return None
    if loss.name == "hinge" and outputs == 1 and not np.all(np.isin(y, (-1.0, 1.0))):
        return "targets y of −1 or 1 for the hinge loss with one output"
    if loss.name == "binary_cross_entropy" and not np.all((y >= 0) & (y <= 1)):
        return "targets y between 0 and 1 (probabilities) for binary_cross_entropy"
    if loss.name == "cross_entropy" and not np.all(y >= 0):
        return "targets y ≥ 0 (probabilities, one-hot for a class) for cross_entropy"
    return None
