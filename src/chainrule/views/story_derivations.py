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


def chain_rows(w: Writer, chain: OutputChain, outs: tuple[str, ...]) -> list[Row]:
    """∂L/∂z_i = Σ_j ∂L/∂a_j · ∂a_j/∂z_i over the outputs j (`outs`, in the chain's order), in names,
    in numbers, and its value; the shortcut where it holds."""
    s, i = chain.suffix, chain.neuron

    def in_names() -> Rel:
        return Rel(("=", w.terms([Mul((w.d_("L", f"a_{j}{s}"), w.d_(f"a_{j}{s}", f"z_{i}{s}"))) for j in outs])))

    nums = w.terms([Mul((w.sn(w.v[d_a]), w.sn(w.v[d_j]))) for d_a, d_j, _ in chain.terms])
    printed = sum(w.product(w.v[d_a], w.v[d_j]) for d_a, d_j, _ in chain.terms)
    rows: list[Row] = [
        (w.d_("L", f"z_{i}{s}"), w.once(("output-chain", i, s, outs), in_names)),
        ("", Rel(("=", nums, *w.res(chain.total, printed)))),
    ]
    if chain.shortcut:
        short: Node = Add((w.name(f"a_{i}{s}"), w.name(f"y_{i}{s}")), ("", "-"))
        if w.r.mean_factor != 1:
            short = Mul((Op(f"(1/{round(1 / w.r.mean_factor)})"), Paren(short)), dot=False)
        dz = w.v[f"dL/dz_{i}{s}"]
        rows.append(("", Rel(("=", short, w.rel(dz), w.num(dz)))))
    return rows


def worked_output(w: Writer, neuron: str, k: int) -> tuple[Row, ...]:
    """An output's δ worked through the activation: each ∂a_j/∂z_i it needs, then the sum (and the shortcut)."""
    s = w.r.suffix(k)
    chain = next((c for c in w.r.output_chains if c.neuron == neuron and c.suffix == s), None)
    if chain is None:
        return ()
    outs = (neuron,) if len(chain.terms) == 1 else w.r.output_neurons
    rows: list[Row] = [jacobian_row(w, j, neuron, s) for j in outs]
    return (*rows, *chain_rows(w, chain, outs))


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
