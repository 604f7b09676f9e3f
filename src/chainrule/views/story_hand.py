"""Hand mode's last section: each written figure beside the exact value, and where rounding showed."""

from __future__ import annotations

from collections.abc import Iterator

from chainrule.views.doc import Block, Inline, Math, Para, Table, written
from chainrule.views.numbers import fmt
from chainrule.views.writer import Writer


def hand_table(w: Writer) -> Iterator[Block]:
    """Each written figure beside the exact value, and where rounding changed a last digit."""
    r = w.r
    assert r.exact is not None and r.hand is not None
    yield w.h(1, "Rounding by hand: how far each written value is from the exact one")
    yield Para(
        (
            f"Every value above was rounded to {r.hand} decimals before it was used. The column “hand − exact” is the "
            "accumulated rounding error; a value is marked where the hand-worked figure differs in its last written digit "
            "from the exact value rounded the same way.",
        )
    )
    rows = []
    changed = 0
    for name, hand in r.values.items():
        exact = r.exact.get(name)
        if exact is None or abs(hand - exact) <= 1e-12 * max(1.0, abs(exact)):
            continue  # given, or exact as written
        differs = written(hand, r.hand) != written(exact, r.hand)
        changed += differs
        label = _value_label(w, name)
        rows.append(
            (
                (label,),
                (written(hand, r.hand),),
                (fmt(exact, r.hand + 4),),
                (fmt(hand - exact, 2) if hand != exact else "0",),
                ("last digit changed" if differs else "",),
            )
        )
    yield Table(("value", "by hand", "exact", "hand − exact", ""), tuple(rows), (False, True, True, True, False))
    yield Para((f"Rounding changed the last written digit of {changed} of these {len(rows)} values.",))


def _value_label(w: Writer, name: str) -> Inline:
    if name.startswith("eta*dL/d"):
        return Math(rf"\eta \, \partial L/\partial {w.t(name[8:])}")
    if name.startswith("dL/d"):
        return Math(rf"\partial L/\partial {w.t(name[4:])}")
    if name.startswith("da_"):
        a, _, z = name[1:].partition("/d")
        return Math(rf"\partial {w.t(a)}/\partial {w.t(z)}")
    if name.endswith("_new"):
        return Math(w.t(name[:-4]) + r"^{\text{new}}")
    base, hash_, k = name.rpartition("#")
    if not (hash_ and k.isdigit()):  # (a neuron's own name may hold a #)
        base, k = name, ""
    if base.startswith("loss_"):  # one output's share of the loss: L_o1
        return Math(rf"L_{{{w.t(base[5:])}}}" + (f"^{{({k})}}" if k else ""))
    if any(name == f"d{u.param}" for u in w.r.updates):  # Δθ = −η·∂L/∂θ
        return Math(rf"\Delta {w.t(name[1:])}")
    if name.startswith("loss"):
        return Math("L" + (f"^{{({k})}}" if k else ""))
    return Math(w.t(name))
