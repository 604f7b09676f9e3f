"""The derivations the story works rather than asserts: an output's ∂L/∂z through its Jacobian, dead units.

The numbers are the record's (record.derivations: the Jacobian entries by name, each output's chain
of ∂L/∂a_j · ∂a_j/∂z_i, the units no gradient flows through); here they are only written: every
Jacobian entry with its formula and numbers, the sum with each product, and where the loss fuses
with the activation, the shortcut ŷ − y it comes to.
"""

from __future__ import annotations

from collections.abc import Iterator

from chainrule.record.derivations import OutputChain
from chainrule.views.doc import Block, Math, Para
from chainrule.views.mathtree import Add, Mul, Node, Num, Op, Paren, Rel
from chainrule.views.writer import Writer

Row = tuple[Node | str, Node | str]


def _name(value_name: str) -> tuple[str, str]:
    """'da_o2/dz_o1#1' → ('a_o2#1', 'z_o1#1'): the two names of a derivative's value."""
    body, hash_, k = value_name.rpartition("#")
    if not (hash_ and k.isdigit()):
        body, k = value_name, ""
    num, _, den = body.removeprefix("d").partition("/d")
    s = f"#{k}" if k else ""
    return (num if num == "L" else num + s), den + s


def jacobian_row(w: Writer, j: str, i: str, s: str) -> Row:
    """∂a_j/∂z_i of a softmax: a_i(1 − a_i) on the diagonal, −a_j·a_i off it, with its numbers."""
    v = w.v
    a_j, a_i = f"a_{j}{s}", f"a_{i}{s}"
    value = v[f"da_{j}/dz_{i}{s}"]
    if i == j:
        sym: Node = Mul((w.name(a_i), Paren(Add((Num(1, "1"), w.name(a_i)), ("", "-")))), dot=False)
        nums: Node = Mul((w.sn(v[a_i]), Paren(Add((Num(1, "1"), w.sn(v[a_i])), ("", "-")))), dot=False)
    else:
        sym = Add((Mul((w.name(a_j), w.name(a_i)), dot=False),), ("-",))
        nums = Add((Mul((w.sn(v[a_j]), w.sn(v[a_i]))),), ("-",))
    return w.d_(a_j, f"z_{i}{s}"), Rel(("=", sym, "=", nums, w.rel(value), w.num(value)))


def chain_rows(w: Writer, chain: OutputChain) -> list[Row]:
    """∂L/∂z_i = Σ_j ∂L/∂a_j · ∂a_j/∂z_i, in names, in numbers, and its value; the shortcut where it holds."""
    sym = w.terms([Mul(tuple(w.d_(*_name(n)) for n in (d_a, d_j))) for d_a, d_j, _ in chain.terms])
    nums = w.terms([Mul((w.sn(w.v[d_a]), w.sn(w.v[d_j]))) for d_a, d_j, _ in chain.terms])
    printed = sum(w.product(w.v[d_a], w.v[d_j]) for d_a, d_j, _ in chain.terms)
    rows: list[Row] = [
        (w.d_("L", f"z_{chain.neuron}{chain.suffix}"), Rel(("=", sym))),
        ("", Rel(("=", nums, *w.res(chain.total, printed)))),
    ]
    if chain.shortcut:
        a, y = f"a_{chain.neuron}{chain.suffix}", f"y_{chain.neuron}{chain.suffix}"
        short: Node = Add((w.name(a), w.name(y)), ("", "-"))
        if w.r.mean_factor != 1:
            n = round(1 / w.r.mean_factor)
            short = Mul((Op(f"(1/{n})"), Paren(short)), dot=False)
        rows.append(("", Rel(("=", short, w.rel(w.v[f"dL/dz_{chain.neuron}{chain.suffix}"]),
                              w.num(w.v[f"dL/dz_{chain.neuron}{chain.suffix}"])))))  # fmt: skip
    return rows


def worked_output(w: Writer, neuron: str, k: int) -> tuple[Row, ...]:
    """An output's δ worked through the activation: each ∂a_j/∂z_i it needs, then the sum (and the shortcut)."""
    s = w.r.suffix(k)
    chain = next((c for c in w.r.output_chains if c.neuron == neuron and c.suffix == s), None)
    if chain is None:
        return ()
    rows: list[Row] = [jacobian_row(w, _name(d_j)[0][2:].removesuffix(s), neuron, s) for _, d_j, _ in chain.terms]
    return (*rows, *chain_rows(w, chain))


def dead_units(w: Writer) -> Iterator[Block]:
    """Each unit no gradient flows through in this step, said with the sum that put it there."""
    for n in w.r.dead:
        zs = [(f"z_{n}{w.r.suffix(k)}", w.v[f"z_{n}{w.r.suffix(k)}"]) for k in range(len(w.r.examples))]
        why: list[Node | str] = []
        for name, z in zs:
            why += [",", "quad"] if why else []
            why += [w.name(name), "=", w.num(z), *(("<", Num(0, "0")) if z < 0 else ())]
        yield Para(
            (
                f"No gradient flows through {n} in this step: ",
                Math(Rel(tuple(why))),
                ", where its activation's slope is 0 (at z = 0 by the convention f′(0) = 0), so every "
                "parameter behind it gets nothing from it.",
            )
        )
