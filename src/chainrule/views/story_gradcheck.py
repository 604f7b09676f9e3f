"""The numerical gradient check told as story blocks: a table of every parameter and one worked in full.

What a student runs to believe the derivation: each parameter nudged by ±h, the loss computed
again both ways, and (L(θ + h) − L(θ − h)) / 2h set beside the chain rule's ∂L/∂θ. The numbers
come from record.gradcheck; here they are only written.
"""

from __future__ import annotations

from chainrule.record.gradcheck import TOLERANCE, GradCheck, ParamCheck
from chainrule.record.step import StepRecord
from chainrule.views.doc import Block, Cell, Equations, Math, Para, Table, num
from chainrule.views.numbers import fmt
from chainrule.views.writer import Writer

CLOSE = 10  # decimals for the two gradients side by side: enough to see them agree far past the shown digits
LOSSES = 14  # decimals for L(θ ± h), whose difference starts around the 7th


def power(x: float) -> str:
    """A step such as h in LaTeX: 10^{-6}, or 3.2 \\cdot 10^{-6}."""
    mantissa, exp = f"{x:.2e}".split("e")
    m = mantissa.rstrip("0").rstrip(".")
    return f"10^{{{int(exp)}}}" if m == "1" else rf"{m} \cdot 10^{{{int(exp)}}}"


def verdict(c: ParamCheck) -> str:
    if c.kink:
        return "kink: not compared"
    if c.relative <= TOLERANCE:
        return "agrees"
    if c.agrees:
        return "agrees (≈ 0)"
    return "DIFFERS"


def gradcheck_blocks(
    record: StepRecord, check: GradCheck, digits: int, only: str | None = None, level: int = 1, title: str = ""
) -> list[Block]:
    """A heading, what is computed and with which h, the table, and one parameter worked in full."""
    w = Writer(record, digits, level)
    h_tex = r"h = 10^{-6} \cdot \max(1, |\theta|)"
    out: list[Block] = [
        w.h(1, title or "The chain rule, checked numerically"),
        Para(
            (
                "Each parameter θ is moved by ±h and the loss of this step computed again both ways; the central "
                "difference ",
                Math(r"\frac{L(\theta + h) - L(\theta - h)}{2h}"),
                " should equal the chain rule's ",
                Math(r"\partial L/\partial \theta"),
                " up to about h². The step used is ",
                Math(h_tex),
                " (the two losses computed in extended precision). Relative difference: ",
                Math(r"|n - c| / \max(|n|, |c|)"),
                f"; they agree when it is at most {fmt(TOLERANCE, 2)}, or when both are 0 within the rounding of the "
                "losses.",
            )
        ),
    ]
    kinks = [c.name for c in check.checks if c.kink]
    rows = tuple(_row(w, c) for c in check.checks if only is None or c.name == only)
    out.append(
        Table(
            ("θ", "h", "central difference", "chain rule ∂L/∂θ", "relative difference", "verdict"),
            rows,
            (False, True, True, True, True, False),
        )
    )
    if kinks:
        out.append(
            Para(
                (
                    f"At {', '.join(kinks)} a kink (a ReLU-like activation at z = 0, or a hinge margin at 0) lies "
                    "between θ − h and θ + h: the difference averages two one-sided slopes there, so it is not compared.",
                )
            )
        )
    out.extend(_worked(w, _pick(record, check, only)))
    return out


def _row(w: Writer, c: ParamCheck) -> tuple[Cell, ...]:
    return (
        (w.m(c.name),),
        (Math(power(c.h)),),
        (fmt(c.numeric, CLOSE),),
        (fmt(c.chain, CLOSE),),
        (fmt(c.relative, 2),),
        (verdict(c),),
    )


def _pick(record: StepRecord, check: GradCheck, only: str | None) -> ParamCheck:
    """The parameter to work in full: --only's, else the output layer's first weight (w5 in the reference)."""
    by_name = {c.name: c for c in check.checks}
    if only in by_name:
        return by_name[only]
    last = [ns for ns in record.sums if ns.layer == record.layers[-1].name]
    first = last[0].terms[0][0] if last and last[0].terms else check.checks[0].name
    return by_name.get(first, check.checks[0])


def _worked(w: Writer, c: ParamCheck) -> list[Block]:
    t = w.t(c.name)
    plus, minus = num(c.loss_plus, LOSSES), num(c.loss_minus, LOSSES)
    rows = (
        ("h", rf"= 10^{{-6}} \cdot \max(1, |{num(c.value, w.d)}|) = {power(c.h)}"),
        (rf"L({t} + h)", f"= {plus}"),
        (rf"L({t} - h)", f"= {minus}"),
        (rf"\frac{{L({t} + h) - L({t} - h)}}{{2h}}", rf"= \frac{{{plus} - {minus}}}{{2 \cdot {power(c.h)}}}"),
        ("", rf"\approx {num(c.numeric, CLOSE)}"),
        (rf"\frac{{\partial L}}{{\partial {t}}}", rf"\approx {num(c.chain, CLOSE)} \quad \text{{(chain rule)}}"),
        (r"\text{relative difference}", rf"\approx {power(c.relative)}" if c.relative else "= 0"),
    )
    return [
        Para(("Worked for ", Math(t), ":")),
        Equations(rows),
        Para((_conclusion(c),)),
    ]


def _conclusion(c: ParamCheck) -> str:
    if c.kink:
        return "A kink lies between θ − h and θ + h: the two one-sided slopes differ, so this one is not compared."
    if c.agrees:
        return "The two values agree: the derivation above is right for this parameter."
    return "The two values differ: the gradient above does not match the loss it claims to differentiate."
