"""The numbers of the derivations a step states: the output's Jacobian and the shortcut it gives, dead units.

Record names added here (all in ``StepRecord.values``, with the example's suffix ``#k`` in a batch):

- ``da_o2/dz_o1``: an off-diagonal entry of a softmax layer's Jacobian, ∂a_j/∂z_i = −a_j·a_i
  (the diagonal ``da_o1/dz_o1`` = a_i(1 − a_i) was there before). Every pair of the layer's neurons.

And beside the values:

- ``StepRecord.output_chains``: ∂L/∂z_i of each output neuron worked through the activation, the
  sum Σ_j ∂L/∂a_j · ∂a_j/∂z_i with each product, for a softmax output and wherever the loss fuses
  with its activation (cross-entropy with softmax, binary cross-entropy with sigmoid, where the sum
  simplifies to the shortcut ŷ_i − y_i).
- ``StepRecord.dead``: the units through which no gradient flows in this step: ∂a/∂z = 0 on every
  example of the batch (a ReLU whose z ≤ 0 throughout, by the convention ReLU′(0) = 0).
- ``StepRecord.mean_factor``: the mean's 1/N over the batch's N examples (1 for a sum, or N = 1),
  the factor every ∂L/∂a of an output carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from chainrule.engine.functions import ACTIVATIONS
from chainrule.engine.network import Forward, Network
from chainrule.record import names


@dataclass(frozen=True)
class OutputChain:
    """∂L/∂z_i of one output neuron on one example, worked through the activation's Jacobian.

    ``terms`` are (name of ∂L/∂a_j, name of ∂a_j/∂z_i, their product) for every output j that z_i
    reaches (all of a softmax layer, only i itself element-wise); ``total`` is the products' sum.
    ``shortcut``: the loss fuses with the activation, so the sum equals ŷ_i − y_i (times the mean's
    1/N), the value the engine computes directly (``dL/dz_i`` in the values)."""

    neuron: str
    suffix: str
    terms: tuple[tuple[str, str, float], ...]
    total: float
    shortcut: bool


def jacobian_names(neurons: Sequence[str], activation: str, suffix: str) -> dict[str, tuple[str, str]]:
    """Each off-diagonal Jacobian entry's name of a softmax layer, with the two a's whose product it
    is negated: ``da_o2/dz_o1`` → (``a_o2``, ``a_o1``); none for an element-wise activation."""
    if ACTIVATIONS[activation].elementwise:
        return {}
    return {
        names.slope(j, suffix, wrt=i): (names.a(j, suffix), names.a(i, suffix))
        for i in neurons
        for j in neurons
        if i != j
    }


def jacobian_values(
    neurons: Sequence[str], activation: str, values: Mapping[str, float], suffix: str
) -> dict[str, float]:
    """∂a_j/∂z_i = −a_j·a_i for every pair j ≠ i of a softmax layer."""
    return {
        name: -values[a_j] * values[a_i] for name, (a_j, a_i) in jacobian_names(neurons, activation, suffix).items()
    }


def output_chains(
    neurons: Sequence[str], activation: str, values: Mapping[str, float], suffix: str, fused: bool
) -> tuple[OutputChain, ...]:
    """Each output's ∂L/∂z worked through the Jacobian, where the step states a derivation for it."""
    elementwise = ACTIVATIONS[activation].elementwise
    if elementwise and not fused:
        return ()
    chains = []
    for i in neurons:
        terms = []
        for j in [i] if elementwise else neurons:
            d_a, d_j = names.d_a(j, suffix), names.slope(j, suffix, wrt=i)
            terms.append((d_a, d_j, values[d_a] * values[d_j] + 0.0))  # + 0.0: no −0 to show
        chains.append(OutputChain(i, suffix, tuple(terms), sum(t[2] for t in terms), fused))
    return tuple(chains)


def dead_units(
    layers: Iterable[tuple[Sequence[str], str]], values: Mapping[str, float], suffixes: Sequence[str]
) -> tuple[str, ...]:
    """The neurons (of layers given as (neurons, activation)) whose ∂a/∂z is 0 on every example:
    no gradient flows back through them."""
    return tuple(
        n
        for neurons, activation in layers
        if ACTIVATIONS[activation].elementwise
        for n in neurons
        if all(values[names.slope(n, s)] == 0 for s in suffixes)
    )


def exponentials(net: Network, fwd: Forward, suffixes: Sequence[str]) -> dict[str, float]:
    """e^z (by the z's name) and Σ e^z (by the layer's, Σ_out#2) of every softmax layer, per example,
    so that a softmax is shown as the quotient it is; none where e^z would overflow."""
    out: dict[str, float] = {}
    for li, layer in enumerate(net.layers):
        if layer.activation.elementwise:
            continue
        for k, s in enumerate(suffixes):
            z = fwd.z[li][k]
            if np.max(z) > 700:  # e^z would overflow: the story writes the quotient without numbers
                continue
            e = np.exp(z)
            out |= {names.z(n, s): float(x) for n, x in zip(layer.neuron_names, e, strict=True)}
            out[f"Σ_{layer.name}{s}"] = float(e.sum())
    return out
