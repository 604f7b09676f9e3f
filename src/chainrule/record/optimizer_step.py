"""The optimizer's numbers in an explained step, by name: the state it carries and the update.

Momentum records the velocity v_w5 = μ·v_w5_prev + ∂L/∂w5 (v_w5_prev: the velocity the previous
update left, 0 before the first), then w5_new = w5 − η·v_w5. Adam records m_w5, s_w5 (the averages
of g and g², from m_w5_prev, s_w5_prev) and the bias-corrected mhat_w5 = m_w5 / (1 − β₁ᵗ),
shat_w5 = s_w5 / (1 − β₂ᵗ), then w5_new = w5 − η·mhat_w5 / (√shat_w5 + ε). RMSProp records s_w5.
Nesterov records v_w5 as momentum does and u_w5 = ∂L/∂w5 + μ·v_w5, the direction of w5_new = w5 − η·u_w5.

Adam's bias correction is recorded once per step, so a view can work it ("t = 3, 1 − 0.9³ = 0.271"):

- ``adam_t``: t, this update's count from 1 (the network's updates made so far, this one included);
- ``adam_c1``: 1 − β₁ᵗ, by which m is divided (mhat_w5 = m_w5 / adam_c1);
- ``adam_c2``: 1 − β₂ᵗ, by which s is divided (shat_w5 = s_w5 / adam_c2).

β₁, β₂, ε, μ and ρ are the record's ``optimizer`` (engine.optimizers.Settings). The rules
themselves are engine.optimizers', which `Network.updated` applies.
"""

from __future__ import annotations

from collections.abc import Mapping

from chainrule.engine.network import Network
from chainrule.engine.optimizers import SLOTS, corrected, corrections


def state_name(slot: str, param: str, before: bool = False) -> str:
    """``v_w5`` (after this update) or ``v_w5_prev`` (what the previous update left)."""
    return f"{slot}_{param}_prev" if before else f"{slot}_{param}"


def optimizer_values(before: Network, after: Network, gradients: Mapping[str, float]) -> dict[str, float]:
    """Every parameter's optimizer state before and after the update, Adam's t, 1 − β₁ᵗ, 1 − β₂ᵗ, m̂
    and ŝ, Nesterov's u (from ``gradients``, ∂L/∂θ by parameter), and μ (by the name ``momentum``,
    the given the step graph reads it from)."""
    s = before.training.optimizer
    out: dict[str, float] = {"momentum": s.momentum} if s.name in ("momentum", "nesterov") else {}
    if s.name == "adam":
        t = after.updates_made
        out["adam_t"] = float(t)
        out["adam_c1"], out["adam_c2"] = corrections(s, t)
    for p in before.parameter_names():
        for slot in SLOTS[s.name]:
            out[state_name(slot, p, before=True)] = before.state.get(p, {}).get(slot, 0.0)
            out[state_name(slot, p)] = after.state[p][slot]
        for key, x in corrected(s, after.state.get(p, {}), after.updates_made).items():
            out[f"{key}_{p}"] = x
        if s.name == "nesterov":  # the engine's direction, g + μ·v (g = 0 for a frozen θ)
            g = 0.0 if p in before.training.freeze else gradients[p]
            out[f"u_{p}"] = g + s.momentum * out[state_name("v", p)]
    return out


def carried(net: Network, values: dict[str, float]) -> dict[str, float]:
    """What the next update starts from, by the names its step gives them: each θ from θ_new, and
    each state slot's _prev from this update's value (v_w5_prev ← v_w5)."""
    out = {p: values[f"{p}_new"] for p in net.parameter_names()}
    for p in net.parameter_names():
        for slot in SLOTS[net.training.optimizer.name]:
            out[state_name(slot, p, before=True)] = values[state_name(slot, p)]
    return out
