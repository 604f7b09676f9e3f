"""How an answers file's author writes: their own names, the sign of error terms, biases as thresholds.

Published worked examples name and sign their numbers in several ways. An answers file says its
way once, and every claim is read into chainrule's names and signs before it is checked:

    [names]                          # the author's name = chainrule's
    net_h1 = "z_h1"
    [conventions]
    names = "mazur"                  # a built-in set of names (net_h1, out_o1, E_total, ∂E_total/∂w5, w5⁺)
    error = "target_minus_output"    # error terms e = t − y, δ = f′(z)(t − y): each is −∂L/∂(·)
    bias = "threshold"               # z = Σ w·x − θ (a −1 input weighted by θ): each θ is −b
    velocity = "step"                # momentum written v ← μv − η·g, θ_new = θ + v: each v is −η times chainrule's

Under ``error = "target_minus_output"`` a claim named ``dL/d…`` is read as minus the number
written (the author's δ is −∂L/∂z); Δθ (``dw5``) and f′ (``da_h1/dz_h1``) keep their sign. Under
``bias = "threshold"`` a claim about a bias b (its value, ``b_new``, ``db``, ``dL/db``) is read as
minus the number written; which names are biases is the network's to say, so the checker does it.
Under ``velocity = "step"`` (momentum's velocity as the step itself, v ← μv − η·g and θ_new = θ + v)
a claim ``v_w5`` (or ``v_w5_prev``) is read as the number written divided by −η, chainrule's
v ← μv + g with θ_new = θ − η·v; the learning rate is the network's, so the checker does it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chainrule.errors import ChainruleError, describe

ERRORS = ("output_minus_target", "target_minus_output")
BIASES = ("bias", "threshold")
VELOCITIES = ("gradient", "step")  # v ← μv + g (chainrule's), or v ← μv − η·g


def mazur_name(name: str) -> str:
    """Matt Mazur's names for the 2-2-2 example ("A Step by Step Backpropagation Example") in chainrule's.

    net_h1 → z_h1, out_o1 → a_o1, target_o1 → y_o1, E_total → loss, E_o1 → loss_o1, w5⁺ (or w5+)
    → w5_new, δ_o1 → dL/dz_o1, and a derivative ∂A/∂B (or dA/dB) → d(A)/d(B) with E_total as L.
    """
    n = name.strip().replace("∂", "d").replace("⁺", "+")
    m = re.fullmatch(r"d([^/]+)/d(.+)", n)
    if m:
        top, bottom = _mazur_term(m.group(1)), _mazur_term(m.group(2))
        return f"d{'L' if top == 'loss' else top}/d{bottom}"
    return _mazur_term(n)


def _mazur_term(n: str) -> str:
    if n == "E_total":
        return "loss"
    rules = (("E_", "loss_"), ("net_", "z_"), ("out_", "a_"), ("target_", "y_"), ("δ_", "dL/dz_"), ("delta_", "dL/dz_"))
    for old, new in rules:
        if n.startswith(old) and len(n) > len(old):
            return new + n[len(old) :]
    return n[:-1] + "_new" if n.endswith("+") and len(n) > 1 else n


BUILT_IN: dict[str, Callable[[str], str]] = {"chainrule": lambda n: n, "mazur": mazur_name}


@dataclass(frozen=True)
class Conventions:
    """An answers file's names and signs; ``reading`` gives chainrule's name for an author's and the sign."""

    names: dict[str, str] = field(default_factory=dict)
    built_in: str = "chainrule"
    error: str = "output_minus_target"
    bias: str = "bias"
    velocity: str = "gradient"
    tables: frozenset[str] = frozenset()  # the top-level tables that are settings, not claims

    def reading(self, name: str) -> tuple[str, float]:
        """chainrule's name for the author's ``name`` and the factor that turns the number into chainrule's sign."""
        ours = self.names.get(name) or BUILT_IN[self.built_in](name)
        return ours, -1.0 if self.error == "target_minus_output" and ours.startswith("dL/d") else 1.0


def read_conventions(src: str, data: dict[str, Any]) -> Conventions:
    """The [names] and [conventions] tables of an answers file, checked (one line naming the key if not)."""
    # (a number named "names" or "conventions" stays a claim: only a table is a setting)
    names = data["names"] if isinstance(data.get("names"), dict) else {}
    settings = data["conventions"] if isinstance(data.get("conventions"), dict) else {}
    for author, ours in names.items():
        if not isinstance(ours, str) or not ours:
            got = "a table" if isinstance(ours, dict) else describe(ours)
            raise ChainruleError(f"{src}: names.{json.dumps(author)}: expected chainrule's name in quotes, got {got}")
    choices = {"names": tuple(BUILT_IN), "error": ERRORS, "bias": BIASES, "velocity": VELOCITIES}
    for key, value in settings.items():
        if key not in choices:
            raise ChainruleError(f"{src}: conventions.{json.dumps(key)}: expected one of names, error, bias, velocity")
        if value not in choices[key]:
            raise ChainruleError(f"{src}: conventions.{key}: expected one of {', '.join(choices[key])}, got {value!r}")
    return Conventions(
        names=dict(names),
        built_in=settings.get("names", "chainrule"),
        error=settings.get("error", "output_minus_target"),
        bias=settings.get("bias", "bias"),
        velocity=settings.get("velocity", "gradient"),
        tables=frozenset(k for k in ("names", "conventions") if isinstance(data.get(k), dict)),
    )
