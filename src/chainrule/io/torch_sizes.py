"""The sizes a `.pt` file's architecture declares, checked before PyTorch or chainrule builds
anything of them (io/torch.py reads the file)."""

from __future__ import annotations

from typing import Any

from chainrule.engine import limits
from chainrule.errors import ChainruleError


def check_sizes(arch: dict[str, Any], where: str) -> None:
    """The architecture's sizes within the limits (engine.limits), from the numbers alone: a
    `units = 10**9` is one line, before anything of that size exists."""
    layers = arch.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ChainruleError(f"{where}: architecture.layers: expected a list of layers")
    limits.LAYERS.check(len(layers), f"{where}: architecture.layers")
    inputs = arch.get("inputs")
    fan_in = len(inputs) if isinstance(inputs, list) else inputs
    if isinstance(fan_in, bool) or not isinstance(fan_in, int) or fan_in < 1:
        raise ChainruleError(f"{where}: architecture.inputs: expected a whole number ≥ 1 or a list of names")
    limits.INPUTS.check(fan_in, f"{where}: architecture.inputs")
    total = 0
    for i, entry in enumerate(layers):
        units = entry.get("units") if isinstance(entry, dict) else None
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ChainruleError(
                f"{where}: architecture.layers[{i}].units: expected a whole number ≥ 1, got {units!r:.40}"
            )
        limits.UNITS.check(units, f"{where}: architecture.layers[{i}].units")
        total += units * (fan_in + 2)
        fan_in = units
    limits.PARAMETERS.check(total, f"{where}: architecture")
