"""The update of the story: every parameter's θ − η·∂L/∂θ, written so that its arithmetic holds as shown."""

from __future__ import annotations

from collections.abc import Iterator

from chainrule.record.step import Update
from chainrule.views.doc import Block, Equations, Para, Table
from chainrule.views.numbers import fmt, fmt_change
from chainrule.views.writer import Writer, holds, places, shown_value


def update(w: Writer, only: str | None) -> Iterator[Block]:
    """The update section: θ_new = θ − η·∂L/∂θ for every parameter, then a table of them all."""
    r, v = w.r, w.v
    yield w.h(1, "5. Update")
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
