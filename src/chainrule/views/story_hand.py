"""Hand mode's last section: each written figure beside the exact value, and where rounding showed."""

from __future__ import annotations

from collections.abc import Iterator

from chainrule.record.names import split_example
from chainrule.views.doc import Block, Inline, Math, Para, Table, num_node, written
from chainrule.views.mathtree import Mul, Num, Op, Paren, Sym, Word
from chainrule.views.writer import Writer, new_name


def _error(x: float) -> Num:
    """A rounding error, one style for every row: two significant digits times a power of ten (5.8·10⁻⁷)."""
    if x == 0:
        return Num(0, "0")
    mantissa, exp = f"{x:.1e}".split("e")
    return Num(x, f"{mantissa}e{int(exp)}")


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
                (Math(Num(hand, written(hand, r.hand).replace("−", "-"))),),
                (Math(num_node(exact, r.hand + 4)),),
                (Math(_error(hand - exact)),),
                ("last digit changed" if differs else "",),
            )
        )
    yield Table(("value", "by hand", "exact", "hand − exact", ""), tuple(rows), (False, True, True, True, False))
    yield Para((f"Rounding changed the last written digit of {changed} of these {len(rows)} values.",))


def _value_label(w: Writer, name: str) -> Inline:
    if name.startswith("eta*dL/d"):
        return Math(Mul((Sym("η"), w.d_("L", name[8:], slash=True)), dot=False))
    if name.startswith("dL/d"):
        return Math(w.d_("L", name[4:], slash=True))
    if name.startswith("da_"):
        a, _, z = name[1:].partition("/d")
        return Math(w.d_(a, z, slash=True))
    if name.endswith("_new"):
        return Math(new_name(w, name[:-4]))
    base, k = split_example(name)  # (a neuron's own name may hold a #)
    sup = Paren(Word(str(k))) if k else None
    if base.startswith("loss_"):  # one output's share of the loss: L_o1
        return Math(Sym("L", w.name(base[5:]), sup))
    if any(name == f"d{u.param}" for u in w.r.updates):  # Δθ = −η·∂L/∂θ
        return Math(Mul((Op("Δ"), w.name(name[1:])), dot=False))
    if name.startswith("loss"):
        return Math(Sym("L", None, sup))
    return w.math(name)
