"""The update of the story: every parameter's θ − η·∂L/∂θ, written so that its arithmetic holds as shown."""

from __future__ import annotations

from collections.abc import Iterator

from chainrule.record.step import Update
from chainrule.views.doc import Block, Equations, Para, Table
from chainrule.views.numbers import fmt, fmt_change
from chainrule.views.writer import Writer, holds, places, shown_value


def update(w: Writer, only: str | None) -> Iterator[Block]:
    """The update section: θ_new = θ − η·∂L/∂θ for every parameter, then a table of them all
    (with another optimizer: its state, velocity or moments, then the update)."""
    r, v = w.r, w.v
    yield w.h(1, "5. Update")
    if r.optimizer.name != "sgd":
        yield from optimizer_update(w, only)
        return
    yield Para(
        (
            "Gradient descent moves every parameter a small step against its gradient, all with the gradients computed before this update:",
        )
    )
    eta = w.n(r.learning_rate)
    yield Equations(
        ((r"\theta_{\text{new}}", r"= \theta - \eta \, \frac{\partial L}{\partial \theta}, \quad \eta = " + eta),)
    )
    rows, table = [], []
    for u in r.updates:
        if only and u.param != only:
            continue
        new = w.t(u.param) + r"_{\text{new}}" if "_" not in w.t(u.param) else f"{w.t(u.param)}^{{\\text{{new}}}}"
        if u.frozen:
            rows.append((new, rf"= {w.n(u.old)} \quad \text{{(frozen)}}"))
        elif r.hand is not None and f"eta*dL/d{u.param}" in v:
            rows.append(
                (
                    new,
                    rf"= {w.s(u.old)} - {eta} \cdot {w.s(u.gradient)} = {w.s(u.old)} - {w.s(v[f'eta*dL/d{u.param}'])} {w.eq(u.new)} {w.n(u.new)}",
                )
            )
        else:
            rows.append((new, _update_rhs(w, u)))
        table.append(
            ((w.m(u.param),), (w.n(u.old),), (w.n(u.gradient),), (w.n(u.new) + (" (frozen)" if u.frozen else ""),))
        )
    yield Equations(tuple(rows))
    yield Table(("parameter", "old value", "gradient", "new value"), tuple(table), (False, True, True, True))


# What each optimizer does, in words and as its rule (engine.optimizers holds the arithmetic).
_RULES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "momentum": (
        "Momentum keeps a velocity for every parameter: the gradient added to the velocity of the update before, "
        "scaled by μ. The parameter moves against its velocity:",
        ((r"v_\theta", r"= \mu \, v_\theta^{\text{prev}} + \frac{\partial L}{\partial \theta}"),
         (r"\theta_{\text{new}}", r"= \theta - \eta \, v_\theta")),
    ),
    "nesterov": (
        "Nesterov momentum keeps a velocity as momentum does, and moves each parameter by the gradient plus μ times the new velocity:",
        ((r"v_\theta", r"= \mu \, v_\theta^{\text{prev}} + \frac{\partial L}{\partial \theta}"),
         (r"\theta_{\text{new}}", r"= \theta - \eta \left(\frac{\partial L}{\partial \theta} + \mu \, v_\theta\right)")),
    ),
    "rmsprop": (
        "RMSProp keeps a running average s of every parameter's squared gradient and divides the step by its square root:",
        ((r"s_\theta", r"= \rho \, s_\theta^{\text{prev}} + (1 - \rho) \left(\frac{\partial L}{\partial \theta}\right)^2"),
         (r"\theta_{\text{new}}", r"= \theta - \eta \, \frac{\partial L / \partial \theta}{\sqrt{s_\theta} + \varepsilon}")),
    ),
    "adam": (
        "Adam keeps running averages of every parameter's gradient (m) and squared gradient (s), corrects them for starting at 0, "
        "and moves the parameter by their quotient:",
        ((r"m_\theta", r"= \beta_1 \, m_\theta^{\text{prev}} + (1 - \beta_1) \, \frac{\partial L}{\partial \theta}"),
         (r"s_\theta", r"= \beta_2 \, s_\theta^{\text{prev}} + (1 - \beta_2) \left(\frac{\partial L}{\partial \theta}\right)^2"),
         (r"\hat m_\theta", r"= m_\theta / (1 - \beta_1^t), \quad \hat s_\theta = s_\theta / (1 - \beta_2^t)"),
         (r"\theta_{\text{new}}", r"= \theta - \eta \, \frac{\hat m_\theta}{\sqrt{\hat s_\theta} + \varepsilon}")),
    ),
}  # fmt: skip


def optimizer_update(w: Writer, only: str | None) -> Iterator[Block]:
    """Momentum, Nesterov, RMSProp or Adam: the rule, then each parameter's state and update, with numbers."""
    r, v, o = w.r, w.v, w.r.optimizer
    words, rule = _RULES[o.name]
    yield Para((words,))
    constants = {"momentum": [(r"\mu", o.momentum)], "nesterov": [(r"\mu", o.momentum)], "rmsprop": [(r"\rho", o.rho)]}
    given = [*constants.get(o.name, [(r"\beta_1", o.beta1), (r"\beta_2", o.beta2)]), (r"\eta", r.learning_rate)]
    said = ", ".join(f"{sym} = {w.n(x)}" for sym, x in given)
    yield Equations((*rule[:-1], (rule[-1][0], rule[-1][1] + r", \quad " + said)))
    rows, table = [], []
    state = "m" if o.name == "adam" else "s" if o.name == "rmsprop" else "v"
    for u in r.updates:
        if only and u.param != only:
            continue
        rows += list(_optimizer_rows(w, u))
        table.append(((w.m(u.param),), (w.n(u.old),), (w.n(u.gradient),), (w.n(v[f"{state}_{u.param}"]),),
                      (w.n(u.new) + (" (frozen)" if u.frozen else ""),)))  # fmt: skip
    yield Equations(tuple(rows))
    head = {"v": "velocity v", "m": "average m", "s": "average s"}[state]
    yield Table(
        ("parameter", "old value", "gradient", head, "new value"), tuple(table), (False, True, True, True, True)
    )


def _optimizer_rows(w: Writer, u: Update) -> Iterator[tuple[str, str]]:
    """One parameter's state (from the state before it) and its new value, numbers in."""
    r, v, o, p = w.r, w.v, w.r.optimizer, u.param
    sub, g, eta = f"_{{{w.t(p)}}}", w.s(u.gradient), w.n(r.learning_rate)
    new = rf"{w.t(p)}_{{\text{{new}}}}" if "_" not in w.t(p) else rf"{w.t(p)}^{{\text{{new}}}}"
    if o.name in ("momentum", "nesterov"):
        vel = v[f"v_{p}"]
        yield "v" + sub, rf"= {w.n(o.momentum)} \cdot {w.s(v[f'v_{p}_prev'])} + {g} {w.eq(vel)} {w.n(vel)}"
        how = w.s(vel) if o.name == "momentum" else rf"\left({g} + {w.n(o.momentum)} \cdot {w.s(vel)}\right)"
    elif o.name == "rmsprop":
        sq = v[f"s_{p}"]
        yield (
            "s" + sub,
            rf"= {w.n(o.rho)} \cdot {w.s(v[f's_{p}_prev'])} + {w.n(1 - o.rho)} \cdot {g}^2 {w.eq(sq)} {w.n(sq)}",
        )
        how = rf"\frac{{{g}}}{{\sqrt{{{w.n(sq)}}} + {w.n(o.eps)}}}"
    else:
        m, sq, mh, sh = (v[f"{k}_{p}"] for k in ("m", "s", "mhat", "shat"))
        yield (
            "m" + sub,
            rf"= {w.n(o.beta1)} \cdot {w.s(v[f'm_{p}_prev'])} + {w.n(1 - o.beta1)} \cdot {g} {w.eq(m)} {w.n(m)}",
        )
        yield (
            "s" + sub,
            rf"= {w.n(o.beta2)} \cdot {w.s(v[f's_{p}_prev'])} + {w.n(1 - o.beta2)} \cdot {g}^2 {w.eq(sq)} {w.n(sq)}",
        )
        yield r"\hat m" + sub, rf"{w.eq(mh)} {w.n(mh)}, \quad \hat s{sub} {w.eq(sh)} {w.n(sh)}"
        how = rf"\frac{{{w.n(mh)}}}{{\sqrt{{{w.n(sh)}}} + {w.n(o.eps)}}}"
    if u.frozen:
        yield new, rf"= {w.n(u.old)} \quad \text{{(frozen)}}"
    else:
        yield new, rf"= {w.s(u.old)} - {eta} \cdot {how} {w.eq(u.new)} {w.n(u.new)}"


def _update_rhs(w: Writer, u: Update) -> str:
    """θ − η·g = θ − (η·g) = θ_new, every number with the decimals that make the arithmetic hold as written.

    θ, η·g and θ_new share one number of decimals: the fewest, from those that show the change
    (0.299250, not 0.2993), up, for which a reader who multiplies and subtracts the shown
    numbers gets the shown result (0.2985 − 0.00064 is not 0.297908).
    """
    eta = w.r.learning_rate
    start = max(places(fmt_change(u.new, u.change, w.d)) or w.d, w.d)
    for p in range(start, 16):
        old, step, new = (_fixed(x, p) for x in (u.old, eta * u.gradient, u.new))
        grad = fmt(u.gradient, p)
        if holds(step, eta * shown_value(grad)) and holds(new, shown_value(old) - shown_value(step)):
            break
    rel = "=" if shown_value(new) == u.new else r"\approx"
    old, grad, step = (_bracketed(x) for x in (old, grad, step))
    return rf"= {old} - {w.n(eta)} \cdot {grad} = {old} - {step} {rel} {new.replace('−', '-')}"


def _fixed(x: float, p: int) -> str:
    """x with p decimals, trailing zeros dropped where x is exact without them (a given 0.15)."""
    text = f"{x:.{p}f}"
    if "." in text and abs(float(text) - x) <= 10.0 ** -(p + 6):
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _bracketed(text: str) -> str:
    """A written number inside a product or difference, in LaTeX: a negative one in parentheses."""
    text = text.replace("−", "-")
    return rf"\left({text}\right)" if text.startswith("-") else text
