"""The table that ties the two notations: each scalar of the worked step and the matrix entry it is.

dL/dw5 is entry (1, 1) of ∂L/∂W⁽²⁾: row = the receiving neuron, column = the sending one (for
W and ∂L/∂W) or the example (for Z, A and Δ).
"""

from __future__ import annotations

from collections.abc import Iterator

from chainrule.record.matrix import MatrixStep, Named
from chainrule.views.doc import Block, Cell, Math, Para, Table, partial
from chainrule.views.matrices import d, sym
from chainrule.views.writer import Writer

MAX_TIES = 48  # rows of the table; the rest follow the same numbering


def ties(w: Writer, m: MatrixStep) -> Iterator[Block]:
    """The table of scalar names and their matrix entries (parameters, gradients, then the first example's z, a, δ)."""
    rows = list(_rows(w, m))
    yield w.h(1, "Each scalar is a matrix entry")
    yield Para(
        (
            "Row i of a layer's matrices is its neuron i; a weight's column is the neuron or input it comes from, "
            "and the column of Z, A and Δ is the example.",
        )
    )
    yield Table(("scalar", "entry", "of", "value"), tuple(rows[:MAX_TIES]), (False, False, False, True))
    if len(rows) > MAX_TIES:
        yield Para((f"… and {len(rows) - MAX_TIES} more, numbered the same way.",))


def _rows(w: Writer, m: MatrixStep) -> Iterator[tuple[Cell, ...]]:
    for layer in m.layers:
        ix = layer.index
        # (its symbol, the matrix, a gradient, only the first example's column)
        pairs: list[tuple[str, Named, bool, bool]] = [
            (sym("W", ix), layer.weight, False, False),
            (d(sym("W", ix)), layer.d_weight, True, False),
        ]
        if layer.bias is not None and layer.d_bias is not None:
            pairs += [(sym("b", ix), layer.bias, False, False), (d(sym("b", ix)), layer.d_bias, True, False)]
        pairs += [
            (sym("Z", ix), layer.z, False, True),
            (sym("A", ix), layer.a, False, True),
            (sym(r"\Delta", ix), layer.delta, True, True),
        ]
        for tex, named, is_gradient, first in pairs:
            for r, row in enumerate(named.names):
                for c, name in enumerate(row[:1] if first else row):
                    yield _row(w, name, tex, r, c, float(named.values[r, c]), is_gradient)


def _row(w: Writer, name: str, tex: str, r: int, c: int, value: float, is_gradient: bool) -> tuple[Cell, ...]:
    scalar = Math(partial("L", name.removeprefix("dL/d"), w.names, slash=True)) if is_gradient else w.m(name)
    return ((scalar,), (f"({r + 1}, {c + 1})",), (Math(tex),), (w.n(value),))
