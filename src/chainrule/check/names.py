"""Names in an answers file: the display notation read as chainrule's, and the names a misnamed claim meant.

`chainrule explain` prints ∂L/∂w5 and ŷ; an answers file may use either notation. A name the
network lacks refuses a single file (one line, with the nearest names), or in a class costs that
value alone, flagged with what it most likely meant (``y_hat`` is the output a_out, not the target).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from chainrule.check.answers import Claim
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.record.graph import StepGraph
from chainrule.record.names import without_example

OUTPUT_ALIASES = ("ŷ", "y_hat", "yhat", "y_pred", "output")  # what people call the network's output


@dataclass(frozen=True)
class Misnamed:
    """A claim under a name the network does not have, and the names it most likely meant."""

    key: str
    written: str
    suggestions: tuple[str, ...]


def alias(name: str, net: Network) -> str:
    """The display notation read as chainrule's names: ∂L/∂w5 as dL/dw5, ŷ as the output's a."""
    out = name.replace("∂", "d")
    outputs = net.output_layer.neuron_names
    if "ŷ" in out and len(outputs) == 1:
        out = out.replace("ŷ", f"a_{outputs[0]}")
    return out


def suggestions(name: str, names: list[str], net: Network) -> tuple[str, ...]:
    """The names a misnamed claim most likely meant: the output's a for ŷ and its spellings, else the nearest."""
    base = without_example(name)
    if base.lower() in OUTPUT_ALIASES:
        return tuple(f"a_{n}" for n in net.output_layer.neuron_names)
    return tuple(difflib.get_close_matches(name, names, n=4, cutoff=0.5))


def validate(claims: list[Claim], graphs: Mapping[int, StepGraph], answers: str, strict: bool) -> list[Misnamed]:
    seen: set[tuple[int, str]] = set()
    misnamed: list[Misnamed] = []
    for c in claims:
        names = graphs[c.step].nodes
        if c.name not in names:
            near = suggestions(c.name, list(names), graphs[c.step].net)
            if not strict:
                misnamed.append(Misnamed(c.key, c.written, near))
                continue
            hint = f"; nearest: {', '.join(near)}" if near else ""
            raise ChainruleError(f"{answers}: {c.key}: expected a value name of this network{hint}")
        if (c.step, c.name) in seen:
            raise ChainruleError(f"{answers}: {c.key}: expected each name once per step, got it twice")
        seen.add((c.step, c.name))
    return misnamed
