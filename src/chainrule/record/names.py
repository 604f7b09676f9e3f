"""The value-name grammar: every name of ``StepRecord.values`` is built and taken apart here.

    x1, w5, b_h1, alpha_h   a given value (an input) or a parameter, by its own name
    y_out                   the target of an output neuron
    z_h1, a_h1              a neuron's weighted sum and its activation
    da_h1/dz_h1             ∂a/∂z of a neuron; da_o2/dz_o1 an entry of a softmax's Jacobian
    dL/da_h1, dL/dz_h1      the loss's derivative by a neuron's a, by its z (δ)
    dL/dw5                  the loss's derivative by a parameter
    w5_new                  a parameter after the update; dw5 its change Δw5 (where no value is named so)
    v_w5, mhat_w5, m_w5_prev  an optimizer's state of a parameter (slots v, m, s, mhat, shat), before the update
    loss, loss_o1           the loss; one output's share of it
    …#2                     any of these on example 2 of a batch (no suffix for a batch of one)

Neuron, input and parameter names are the file's own and may hold any character (``#``, ``/``,
``_``), so a name is read against a ``Vocabulary`` of the step's names where one is at hand; without
one, the grammar reads greedily (right for every name chainrule makes up itself).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal[
    "value",
    "target",
    "z",
    "a",
    "slope",
    "dL/da",
    "dL/dz",
    "grad",
    "new",
    "change",
    "state",
    "prev",
    "loss",
    "loss_term",
]

# The optimizers' state of a parameter: velocity v; Adam's m, s and their bias-corrected m̂, ŝ.
SLOTS = ("v", "m", "s", "mhat", "shat")

_SUFFIX = re.compile(r"#([1-9][0-9]*)\Z")

# (kind, prefix, ending, slot): the name is prefix + subject + ending, in the order they are tried
_FORMS: tuple[tuple[Kind, str, str, str], ...] = (
    ("dL/da", "dL/da_", "", ""),
    ("dL/dz", "dL/dz_", "", ""),
    ("grad", "dL/d", "", ""),
    ("slope", "da_", "", ""),  # da_<subject>/dz_<wrt>, split at the "/dz_" below
    ("target", "y_", "", ""),
    ("z", "z_", "", ""),
    ("a", "a_", "", ""),
    ("loss_term", "loss_", "", ""),
    *(("prev", f"{slot}_", "_prev", slot) for slot in SLOTS),
    ("new", "", "_new", ""),
    *(("state", f"{slot}_", "", slot) for slot in SLOTS),
    ("change", "d", "", ""),  # Δθ (dw1), where no other value has that name
)


@dataclass(frozen=True)
class Name:
    """A value's name taken apart: what it is, of which neuron or parameter, on which example."""

    kind: Kind
    subject: str = ""  # the neuron, parameter or given value ("" for the loss)
    wrt: str = ""  # slope: the neuron whose z (da_o2/dz_o1: subject o2, wrt o1); state, prev: the slot (v, mhat)
    example: int = 0  # 1-based example of a batch; 0 for a batch of one


@dataclass(frozen=True)
class Vocabulary:
    """The step's own names, to read a name whose parts hold the grammar's characters."""

    neurons: frozenset[str] = field(default_factory=frozenset)
    outputs: frozenset[str] = field(default_factory=frozenset)
    parameters: frozenset[str] = field(default_factory=frozenset)
    given: frozenset[str] = field(default_factory=frozenset)  # inputs and any other value by its own name

    @classmethod
    def of(
        cls, neurons: Iterable[str], outputs: Iterable[str], parameters: Iterable[str], given: Iterable[str] = ()
    ) -> Vocabulary:
        return cls(frozenset(neurons), frozenset(outputs), frozenset(parameters), frozenset(given))


def suffix(k: int, size: int) -> str:
    """The suffix of the k-th (0-based) example of a batch of ``size`` ('' when the batch has one)."""
    return "" if size == 1 else f"#{k + 1}"


def split_example(text: str) -> tuple[str, int]:
    """A name without its example suffix, and the example (1-based; 0 without one): z_h1#2 → (z_h1, 2)."""
    m = _SUFFIX.search(text)
    return (text[: m.start()], int(m.group(1))) if m else (text, 0)


def without_example(text: str) -> str:
    """A name without its example suffix: z_h1#2 → z_h1 (a neuron's own # stays where it is)."""
    return split_example(text)[0]


def build(name: Name) -> str:
    """The name's text: build(Name("z", "h1", example=2)) is "z_h1#2"."""
    end = f"#{name.example}" if name.example else ""
    if name.kind == "loss":
        return "loss" + end
    if name.kind == "value":
        return name.subject + end
    if name.kind == "slope":
        return f"da_{name.subject}/dz_{name.wrt or name.subject}{end}"
    prefix, ending = next((p, e) for k, p, e, slot in _FORMS if k == name.kind and slot == name.wrt)
    return prefix + name.subject + ending + end


def z(neuron: str, s: str = "") -> str:
    return f"z_{neuron}{s}"


def a(neuron: str, s: str = "") -> str:
    return f"a_{neuron}{s}"


def slope(neuron: str, s: str = "", wrt: str | None = None) -> str:
    """∂a_neuron/∂z_wrt (wrt defaults to the neuron itself: the activation's derivative)."""
    return f"da_{neuron}/dz_{wrt if wrt is not None else neuron}{s}"


def d_a(neuron: str, s: str = "") -> str:
    return f"dL/da_{neuron}{s}"


def d_z(neuron: str, s: str = "") -> str:
    return f"dL/dz_{neuron}{s}"


def grad(param: str, s: str = "") -> str:
    return f"dL/d{param}{s}"


def new(param: str) -> str:
    return f"{param}_new"


def parse(text: str, vocabulary: Vocabulary | None = None) -> Name:
    """The name's parts (the first of its readings, neuron forms before parameters ones)."""
    found = readings(text, vocabulary)
    return found[0] if found else Name("value", text)


def readings(text: str, vocabulary: Vocabulary | None = None) -> list[Name]:
    """Every way to read ``text`` as a name (one for any name chainrule makes up; with names of the
    file's own that contain the grammar's characters, possibly several, most specific first)."""
    out: list[Name] = []
    m = _SUFFIX.search(text)
    bases = [(text[: m.start()], int(m.group(1))), (text, 0)] if m else [(text, 0)]
    for base, example in bases:
        out += [Name(n.kind, n.subject, n.wrt, example) for n in _base_readings(base, vocabulary)]
    return out


def _base_readings(base: str, vocab: Vocabulary | None) -> list[Name]:
    out: list[Name] = []
    if base == "loss":
        out.append(Name("loss"))
    for kind, prefix, ending, slot in _FORMS:
        if not (base.startswith(prefix) and base.endswith(ending)) or len(base) <= len(prefix) + len(ending):
            continue
        subject = base[len(prefix) : len(base) - len(ending)]
        if kind == "slope":
            out += [n for n in _slopes(subject) if vocab is None or {n.subject, n.wrt} <= vocab.neurons]
        elif vocab is None or subject in _allowed(kind, vocab):
            out.append(Name(kind, subject, slot))
    if vocab is None or base in vocab.given | vocab.parameters:
        out.append(Name("value", base))
    return out


def _slopes(rest: str) -> list[Name]:
    """da_<j>/dz_<i> read at every "/dz_" of the text after da_."""
    out = []
    at = rest.find("/dz_", 1)
    while at != -1:
        if at + 4 < len(rest):
            out.append(Name("slope", rest[:at], rest[at + 4 :]))
        at = rest.find("/dz_", at + 1)
    return out


def _allowed(kind: Kind, vocab: Vocabulary) -> frozenset[str]:
    if kind in ("target", "loss_term"):
        return vocab.outputs
    if kind in ("grad", "new", "change", "state", "prev"):
        return vocab.parameters
    return vocab.neurons
