"""Which activations and losses the page may offer for a network: the engine's rule, asked.

The rule itself is `engine.functions.pairing_refusal` (and `target_refusal` for the targets): this
module only tries each choice against it, so the page never holds a copy of the rule.
"""

from __future__ import annotations

from typing import Any

from chainrule.engine.functions import (
    ACTIVATIONS,
    LOSSES,
    Activation,
    Loss,
    known,
    pairing_refusal,
    target_refusal,
)
from chainrule.engine.network import Network


def _fits(net: Network, loss: Loss, layers: list[tuple[Activation, int]]) -> bool:
    if pairing_refusal(loss, layers) is not None:
        return False
    return target_refusal(loss, layers[-1][1], net.y) is None


def valid_choices(net: Network) -> dict[str, Any]:
    """The losses this network may switch to, and each layer's activations under its loss.

    A loss that needs a particular output activation (cross-entropy: softmax) counts as valid when
    that activation would do, since choosing the loss on the page sets it (web.edits.set_loss).
    """
    layers = [(layer.activation, layer.units) for layer in net.layers]
    losses = []
    for name in known("loss"):
        loss = LOSSES[name]
        out = layers[-1]
        if loss.requires_activation and out[0].name not in loss.requires_activation:
            out = (ACTIVATIONS[loss.requires_activation[0]], out[1])
        if _fits(net, loss, [*layers[:-1], out]):
            losses.append(name)
    activations = []
    for i in range(len(layers)):
        allowed = [
            name
            for name in known("activation")
            if _fits(net, net.loss, [*layers[:i], (ACTIVATIONS[name], layers[i][1]), *layers[i + 1 :]])
        ]
        activations.append(allowed)
    return {"losses": losses, "activations": activations}
