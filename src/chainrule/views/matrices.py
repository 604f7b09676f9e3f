"""How the matrix form writes a matrix: its entries at the shown digits, elided past SHOWN, and the
relation before a result (= or ≈, and the note where the shown operands do not give it)."""

from __future__ import annotations

import numpy as np

from chainrule.record.matrix import Named
from chainrule.views.doc import Math, Matrix, MatrixEquation, Para, layer_sup
from chainrule.views.writer import UNROUNDED, Writer, holds

SHOWN = 6  # rows or columns shown in full; past it, the first SHOWN − 1, dots, and the last


def sym(letter: str, index: int) -> str:
    """A layer's matrix: W⁽ˡ⁾, Z⁽ˡ⁾, \\Delta⁽ˡ⁾."""
    return letter + layer_sup(index)


def d(of: str) -> str:
    """∂L/∂(of) as a fraction."""
    return rf"\frac{{\partial L}}{{\partial {of}}}"


def matrix(w: Writer, values: np.ndarray) -> Matrix:
    """The entries as the story writes numbers, elided past SHOWN rows or columns."""
    rows = kept(values.shape[0])
    cols = kept(values.shape[1])
    out = []
    for r in rows:
        out.append(tuple(_entry(w, values, r, c) for c in cols))
    return Matrix(tuple(out))


def kept(n: int) -> list[int | None]:
    """The indices shown (None for the dots)."""
    if n <= SHOWN:
        return list(range(n))
    return [*range(SHOWN - 1), None, n - 1]


def _entry(w: Writer, values: np.ndarray, r: int | None, c: int | None) -> str:
    if r is None and c is None:
        return r"\ddots"
    if r is None:
        return r"\vdots"
    if c is None:
        return r"\cdots"
    return w.n(float(values[r, c]))


def shown(w: Writer, values: np.ndarray) -> np.ndarray:
    """The matrix as a reader reads it off the page: every entry rounded as it is shown."""
    return np.vectorize(lambda x: w.value(float(x)), otypes=[float])(values) if values.size else values


def result(w: Writer, values: np.ndarray, printed: np.ndarray | None) -> tuple[str, str]:
    """(relation, note): = where every entry is shown exactly, else ≈; the note where the shown
    operands (`printed`, worked from the shown entries) do not give the shown result."""
    exact = all(w.eq(float(x)) == "=" for x in values.flat)
    note = ""
    if (
        printed is not None
        and not w.hand
        and not all(holds(w.n(float(x)), float(p)) for x, p in zip(values.flat, printed.flat, strict=True))
    ):
        note = UNROUNDED
    return ("=" if exact else r"\approx"), note


def equation(
    w: Writer, lhs: str, how: str, operands: tuple[str | Matrix, ...], out: np.ndarray, printed: np.ndarray | None
) -> MatrixEquation:
    """lhs = how = operands ≈ [result], with the note where the shown operands do not give it."""
    rel, note = result(w, out, printed)
    middle: list[str | Matrix] = [f"= {how}"] if how else []
    if operands:
        middle += ["=", *operands]
    terms = [lhs, *middle, rel, matrix(w, out)]
    return MatrixEquation(tuple(terms + ([note] if note else [])))


def shapes(*items: tuple[str, Named | np.ndarray]) -> Para:
    """A line stating each matrix's shape."""
    parts: list[str | Math] = ["Shapes: "]
    for i, (tex, m) in enumerate(items):
        rows, cols = m.shape
        parts += [", " if i else "", Math(tex), f" is {rows} × {cols}"]
    parts.append(".")
    return Para(tuple(parts))
