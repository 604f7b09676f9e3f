"""The numerical gradient check told as story blocks: a table of every parameter and one worked in full.

What a student runs to believe the derivation: each parameter nudged by ±h, the loss computed
again both ways, and (L(θ + h) − L(θ − h)) / 2h set beside the chain rule's ∂L/∂θ. The numbers
come from record.gradcheck; here they are only written.
"""

from __future__ import annotations

from chainrule.record.gradcheck import TOLERANCE, GradCheck, ParamCheck
from chainrule.record.step import StepRecord
from chainrule.views.doc import Block, Cell, Equations, Math, Para, Table, num_node
from chainrule.views.math_tex import latex
from chainrule.views.math_text import terminal
from chainrule.views.mathtree import (
    Add,
    Formula,
    Frac,
    Func,
    Mul,
    Node,
    Note,
    Num,
    Partial,
    Pow,
    Rel,
    Seq,
    Sym,
    Word,
)
from chainrule.views.writer import Writer

CLOSE = 10  # decimals for the two gradients side by side: enough to see them agree far past the shown digits
LOSSES = 14  # decimals for L(θ ± h), whose difference starts around the 7th


def power(x: float) -> Node:
    """A step such as h: 10⁻⁶, or 3.2 × 10⁻⁶."""
    mantissa, exp = f"{x:.2e}".split("e")
    m = mantissa.rstrip("0").rstrip(".")
    if m == "1":
        return Pow(Num(10, "10"), Num(int(exp), str(int(exp))))
    return Num(x, f"{m}e{int(exp)}")


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
    theta = Sym("θ")
    h_rule = Rel((Sym("h"), "=", Mul((_MICRO, Func("max", Seq((Num(1, "1"), Formula(r"|\theta|", "|θ|"))))))))
    out: list[Block] = [
        w.h(1, title or "The chain rule, checked numerically"),
        Para(
            (
                "Each parameter θ is moved by ±h and the loss of this step computed again both ways; the central "
                "difference ",
                Math(
                    Frac(
                        Add((_loss_at(theta, "+"), _loss_at(theta, "-")), ("", "-")),
                        Mul((Num(2, "2"), Sym("h")), dot=False),
                    )
                ),
                " should equal the chain rule's ",
                Math(Partial(Sym("L"), theta, slash=True)),
                " up to about h². The step used is ",
                Math(h_rule),
                " (the two losses computed in extended precision). Relative difference: ",
                Math(Formula(r"|n - c| / \max(|n|, |c|)", "|n − c| / max(|n|, |c|)")),
                "; they agree when it is at most ",
                Math(power(TOLERANCE)),
                ", or when both are 0 within the rounding of the losses.",
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
        (Math(num_node(c.numeric, CLOSE)),),
        (Math(num_node(c.chain, CLOSE)),),
        (Math(num_node(c.relative, 2)),),
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


def _loss_at(theta: Node, sign: str) -> Func:
    return Func("L", Add((theta, Sym("h")), ("", sign)))


_MICRO = Pow(Num(10, "10"), Num(-6, "-6"))


def _worked(w: Writer, c: ParamCheck) -> list[Block]:
    t = w.name(c.name)
    plus, minus = num_node(c.loss_plus, LOSSES), num_node(c.loss_minus, LOSSES)
    two_h = Mul((Num(2, "2"), power(c.h)))
    quotient = Frac(Add((_loss_at(t, "+"), _loss_at(t, "-")), ("", "-")), Mul((Num(2, "2"), Sym("h")), dot=False))
    shown = num_node(c.value, w.d)
    absolute = Formula(f"|{latex(shown)}|", f"|{terminal(shown)}|")
    relative: tuple[Node | str, ...] = ("≈", power(c.relative)) if c.relative else ("=", Num(0, "0"))
    rows: tuple[tuple[Node | str, Node | str], ...] = (
        (Sym("h"), Rel(("=", Mul((_MICRO, Func("max", Seq((Num(1, "1"), absolute))))), "=", power(c.h)))),
        (_loss_at(t, "+"), Rel(("=", plus))),
        (_loss_at(t, "-"), Rel(("=", minus))),
        (quotient, Rel(("=", Frac(Add((plus, minus), ("", "-")), two_h)))),
        ("", Rel(("≈", num_node(c.numeric, CLOSE)))),
        (Partial(Sym("L"), t), Rel(("≈", num_node(c.chain, CLOSE), "", Note("chain rule")))),
        (Word("relative difference"), Rel(relative)),
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
