"""The page's matrix switch: the matrix story's blocks (views.story_matrix) as lines, each matrix
entry tied to the record's scalar name and exact value, so that hovering on it can say what it is.

The story writes a matrix as its entries' LaTeX only (views.doc.Matrix). Which named matrix of the
step it shows is found by writing every named matrix of record.matrix the same way and looking
the written entries up; an entry whose matrix has no name (a Jacobian, a product worked from the
shown numbers) is shown without one. Two named matrices written with the same entries (rare: equal
at the shown digits) give both names, joined by "or", rather than a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from chainrule.record.matrix import MatrixStep, Named, matrix_step
from chainrule.record.step import StepRecord
from chainrule.views.doc import Block, Heading, Matrix, MatrixEquation, Para
from chainrule.views.html import mathml
from chainrule.views.matrices import kept, matrix
from chainrule.views.plainmath import plain
from chainrule.views.story_matrix import matrix_story
from chainrule.views.text import inline
from chainrule.views.writer import Writer
from chainrule.web.mathml import lines as scalar_lines

MAX_LINES = 160  # past this the matrix form stops with a note: the download has it all
MAX_PARAMETERS = 2_000  # a larger network's matrices are elided to their corners anyway; not sent


def _named(m: MatrixStep) -> list[Named]:
    """Every matrix of the step that has names, in the story's order."""
    out = [m.x, m.y]
    for la in m.layers:
        mats = (la.weight, la.bias, la.prev, la.z, la.a, la.derivative, la.d_a, la.delta)
        out += [x for x in (*mats, la.d_weight, la.d_bias, la.weight_new, la.bias_new) if x is not None]
    return out


Entry = tuple[str, str]  # (names, exact values) of one shown entry
Index = dict[Matrix, list[tuple[tuple[Entry, ...], ...]]]


def _index(w: Writer, m: MatrixStep) -> Index:
    """Each named matrix as the story writes it → the name and exact value of each written entry."""
    index: Index = {}
    for each in _named(m):
        for named in (each, Named(each.values.T, tuple(zip(*each.names, strict=True)))):  # (A⁽ˡ⁻¹⁾)ᵀ, (W⁽ˡ⁺¹⁾)ᵀ
            _add(index, w, named)
    return index


def _add(index: Index, w: Writer, named: Named) -> None:
    """Index one named matrix under its written entries (the shown rows and columns only)."""
    rows, cols = kept(named.shape[0]), kept(named.shape[1])
    grid = tuple(
        tuple(
            ("", "") if r is None or c is None else (named.names[r][c], repr(float(named.values[r, c]))) for c in cols
        )
        for r in rows
    )
    found = index.setdefault(matrix(w, named.values), [])
    if grid not in found:
        found.append(grid)


def _entry(tex: str, names: Entry, r: int, c: int) -> str:
    inner = _inner(mathml(tex))
    name, exact = names
    if not name:
        return f"<mtd>{inner}</mtd>"
    label = escape(f"{name} = {exact}, entry ({r + 1}, {c + 1})")
    return (
        f'<mtd class="entry" tabindex="0" data-name="{escape(name)}" data-exact="{escape(exact)}" '
        f'data-entry="({r + 1}, {c + 1})" aria-label="{label}">{inner}</mtd>'
    )


def _matrix(mat: Matrix, index: Index) -> str:
    grids = index.get(mat, [])
    rows = []
    for r, row in enumerate(mat.entries):
        cells = []
        for c, tex in enumerate(row):
            cells.append(_entry(tex, _either(g[r][c] for g in grids), r, c))
        rows.append("<mtr>" + "".join(cells) + "</mtr>")
    return f"<mrow><mo>[</mo><mtable>{''.join(rows)}</mtable><mo>]</mo></mrow>"


def _either(found: Iterable[Entry]) -> Entry:
    """The names an entry may have ("a or b"), and one value if they are all equal, else one each."""
    pairs = list(dict.fromkeys(p for p in found if p[0]))
    values = [v for _, v in pairs]
    return " or ".join(n for n, _ in pairs), values[0] if len(set(values)) == 1 else " or ".join(values)


def _inner(markup: str) -> str:
    """A <math> element's content, without the element."""
    return markup[markup.index(">") + 1 : markup.rindex("</math>")]


def equation(eq: MatrixEquation, index: Index) -> dict[str, str]:
    """One matrix equation as display MathML whose named entries carry data-name and data-exact."""
    parts = [_matrix(t, index) if isinstance(t, Matrix) else _inner(mathml(t)) for t in eq.terms]
    read = " ".join(_plain(t) if isinstance(t, Matrix) else plain(t) for t in eq.terms)
    body = "".join(parts)
    return {"mathml": f'<math display="block"><mrow>{body}</mrow></math>', "note": "", "plain": read}


def _plain(mat: Matrix) -> str:
    """A matrix read out row by row: [0.15, 0.2; 0.25, 0.3]."""
    return "[" + "; ".join(", ".join(plain(e) for e in row) for row in mat.entries) + "]"


def _block(b: Block, index: Index) -> list[dict[str, Any]]:
    if isinstance(b, Heading):
        return [{"heading": b.text}] if b.level > 1 else []
    if isinstance(b, MatrixEquation):
        return [equation(b, index)]
    if isinstance(b, Para):
        return [{"text": inline(b.parts)}]
    return scalar_lines((b,))


def matrix_form(record: StepRecord, parameters: int, digits: int = 4) -> dict[str, Any]:
    """The step in matrix form as the page's lines (headings, sentences, equations), at most MAX_LINES."""
    if parameters > MAX_PARAMETERS:
        return {"lines": [], "note": f"{parameters:,} parameters: too many to show in matrix form here"}
    index = _index(Writer(record, digits), matrix_step(record))
    out: list[dict[str, Any]] = []
    for b in matrix_story([record], digits):
        out += _block(b, index)
        if len(out) > MAX_LINES:
            more = "the worked example (download, or chainrule explain --form matrix) has the rest"
            return {"lines": out[:MAX_LINES], "note": f"Shortened to {MAX_LINES} lines: {more}"}
    return {"lines": out, "note": ""}
