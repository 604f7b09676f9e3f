"""The value names a step derives from a network's own names, so that a loader can refuse a name
that would collide with one of them.

A step record keys every number by name: the inputs and parameters by their own (x1, w5, b1), and
everything else by a name built from a neuron's or a parameter's: a_h1, z_h1, y_out, dL/dz_h1,
da_h1/dz_h1 (neurons); w5_new, dw5, dL/dw5, m_w5, m_w5_prev (parameters); loss; and, in a batch,
each example's value with "#k" after it (z_h1#2). An input named ``a_out`` would be the same key as
the output neuron's activation, and every view that looks a value up by name would read the wrong
number (or none). The forms are listed here, below the record that builds them, so that the
network file's loader (io) and the record share one list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from chainrule.engine.network import Layer
from chainrule.engine.optimizers import SLOTS

# "{}" is the neuron's or the parameter's name.
NEURON_FORMS = ("a_{}", "z_{}", "y_{}", "loss_{}", "dL/da_{}", "dL/dz_{}", "da_{}/dz_{}")
_STATE = sorted({slot for slots in SLOTS.values() for slot in slots} | {"mhat", "shat"})
PARAMETER_FORMS = ("{}_new", "d{}", "dL/d{}", *(f"{s}_{{}}" for s in _STATE), *(f"{s}_{{}}_prev" for s in _STATE))
CONSTANTS = ("loss",)
EXAMPLE_SUFFIX = re.compile(r"#[0-9]+\Z")  # what a batch puts after a per-example value's name
# A value made from a default weight name (w7_new, dL/dw7, m_w7_prev): one pattern, one match per key.
_FROM_DEFAULT = re.compile(
    "|".join(f"{re.escape(f.split('{}')[0])}(w[0-9]+){re.escape(f.split('{}')[1])}" for f in PARAMETER_FORMS)
)


def clash(
    inputs: Iterable[str],
    neurons: Iterable[str],
    parameters: Iterable[str],
    default_weight: Callable[[str], bool] = lambda name: False,
) -> tuple[str, str] | None:
    """(a name the file gave, why it cannot be used), or None when every value of a step gets a key
    of its own.

    `parameters` are the ones with names of their own (biases, α, weights the file names); default
    weight names (w1, w2, …, millions in a large network) are recognised by `default_weight`
    instead of listed. The names given are different from one another (the loader checks that first)."""
    params = list(parameters)
    keys = [(n, n, f"the input {n}") for n in inputs] + [(p, p, f"the parameter {p}") for p in params]
    for forms, names, whose in ((NEURON_FORMS, neurons, "neuron "), (PARAMETER_FORMS, params, "")):
        keys += [(f.replace("{}", n), n, f"a value of {whose}{n}") for n in names for f in forms]
    taken: dict[str, tuple[str, str]] = {c: (c, "the loss") for c in CONSTANTS}
    for key, name, what in keys:
        if key in taken:
            other, other_what = taken[key]
            culprit, said = (other, what) if other == key else (name, other_what)
            return culprit, f"a name no other value of the step has ({key} is also {said})"
        taken[key] = (name, what)
    for name, _ in taken.values():
        if EXAMPLE_SUFFIX.search(name):
            return name, "no #k at the end (a batch puts #k after each example's values)"
    return _default_clash(taken, default_weight)


def _default_clash(taken: dict[str, tuple[str, str]], default_weight: Callable[[str], bool]) -> tuple[str, str] | None:
    """A key taken above that a default weight's name (w7) or a value made from one (dL/dw7) equals."""
    for key, (name, _) in taken.items():
        if key[:1] == "w" and default_weight(key):
            return name, f"a name no other value of the step has ({key} is also a weight)"
        made = _FROM_DEFAULT.fullmatch(key)
        stem = next((g for g in made.groups() if g), None) if made else None
        if stem is not None and default_weight(stem):
            return name, f"a name no other value of the step has ({key} is also a value of the weight {stem})"
    return None


def network_clash(inputs: list[str], layers: list[Layer]) -> tuple[str, str, str] | None:
    """For a network file: (the key at fault, what was expected, the name), or None when every layer
    has a name of its own (a step finds a layer's sums by it) and `clash` finds nothing."""
    where = {name: "inputs" for name in inputs}
    first: dict[str, int] = {}
    for li, layer in enumerate(layers):
        if layer.name in first:
            return f"layers[{li}].name", f"a name not already used by layers[{first[layer.name]}]", layer.name
        first[layer.name] = li
        where |= {name: f"layers[{li}]" for name in (*layer.neuron_names, *_named_parameters(layer))}
    found = clash(
        inputs,
        [n for layer in layers for n in layer.neuron_names],
        [p for layer in layers for p in _named_parameters(layer)],
        _numbered(layers),
    )
    if found is None:
        return None
    name, expected = found
    return where.get(name, "layers"), expected, name


def _named_parameters(layer: Layer) -> list[str]:
    """The layer's parameters that have names of their own (not the default w1, w2, …)."""
    weights = [n for row in layer.weight_names for n in row] if layer.custom_weight_names else []
    return [*weights, *layer.bias_names, *([layer.alpha_name] if layer.alpha_name else [])]


def _numbered(layers: list[Layer]) -> Callable[[str], bool]:
    """Whether a name is one of the default weight names w1, w2, … that some layer uses."""
    spans = [(k + 1, k + la.weight.size) for la in layers if isinstance(k := la.weight_numbering, int)]

    def default(name: str) -> bool:
        digits = name[1:]
        if name[:1] != "w" or not (digits.isascii() and digits.isdigit()) or digits[0] == "0":
            return False
        k = int(digits)
        return any(first <= k <= last for first, last in spans)

    return default
