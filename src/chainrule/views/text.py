"""The terminal view: the story's blocks (story.py), rendered with rich, math as plain Unicode.

The same blocks the Markdown, LaTeX and HTML documents render; only the notation differs
(∂L/∂w5 for the fraction, z_out for the subscript), written by plainmath from each block's LaTeX.
Figures are left out: a terminal cannot draw them.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table as RichTable
from rich.text import Text

from chainrule.record.step import StepRecord
from chainrule.views import escape
from chainrule.views.doc import (
    Block,
    Bullets,
    Equations,
    Figure,
    Heading,
    Inline,
    Math,
    Matrix,
    MatrixEquation,
    Para,
    Strong,
    Table,
)
from chainrule.views.math_text import terminal
from chainrule.views.mathtree import Node
from chainrule.views.numbers import DEFAULT_DIGITS
from chainrule.views.plainmath import plain as plain_tex


def plain(math: Node | str) -> str:
    """Math as one line of plain Unicode: a tree by its printer, the matrix form's LaTeX by plainmath."""
    return terminal(math) if not isinstance(math, str) else plain_tex(math)


def render(record: StepRecord, digits: int = DEFAULT_DIGITS, only: str | None = None) -> RenderableType:
    """The whole explanation of one step, as one rich renderable."""
    return render_records([record], digits, only)


def render_records(records: list[StepRecord], digits: int = DEFAULT_DIGITS, only: str | None = None) -> RenderableType:
    """Several steps one after another: the title once, then each step under its own heading."""
    from chainrule.views.story import story

    return Group(*(r for b in story(records, digits, only, figures=False) if (r := block(b)) is not None))


def render_blocks(blocks: list[Block]) -> RenderableType:
    """Any story's blocks (the matrix form's too) as one rich renderable."""
    return Group(*(r for b in blocks if (r := block(b)) is not None))


def inline(parts: tuple[Inline, ...]) -> str:
    """Words and inline math as one line of plain text."""
    out = []
    for p in parts:
        if isinstance(p, Math):
            out.append(plain(p.tex))
        elif isinstance(p, Strong):
            out.append(escape.terminal(p.text))
        else:
            out.append(escape.terminal(p))
    return "".join(out)


def equation_lines(eq: Equations) -> list[str]:
    """Each row as `lhs = rhs`, continuation rows aligned under the first relation."""
    lhs = [plain(a) for a, _ in eq.rows]
    width = max(len(a) for a in lhs)
    return [
        f"{a.ljust(width)} {plain(b)}".rstrip() if width else plain(b) for a, (_, b) in zip(lhs, eq.rows, strict=True)
    ]


def block(b: Block) -> RenderableType | None:
    if isinstance(b, Heading):
        if b.level == 1:
            return Rule(Text(escape.terminal(b.text), style="bold"), style="cyan")
        if b.level == 2:
            return Rule(Text(escape.terminal(b.text), style="bold cyan"), align="left", style="cyan")
        return Text(escape.terminal(b.text), style="bold")
    if isinstance(b, Para):
        return Text(inline(b.parts))
    if isinstance(b, Equations):
        return Text("\n".join("  " + line for line in equation_lines(b)))
    if isinstance(b, Bullets):
        return Text("\n".join("  • " + inline(item) for item in b.items))
    if isinstance(b, Table):
        t = RichTable(box=None, show_edge=False, pad_edge=False)
        for head, numeric in zip(b.header, b.numeric, strict=True):
            t.add_column(Text(head), justify="right" if numeric else "left")
        for row in b.rows:
            # Cells as Text: rich would read a [ in a name as markup.
            t.add_row(*(Text(_cell(c, n)) for c, n in zip(row, b.numeric, strict=True)))
        return t
    if isinstance(b, MatrixEquation):
        return Text("\n".join(matrix_lines(b)), no_wrap=True, overflow="ignore")
    if isinstance(b, Figure):
        return None
    raise TypeError(b)


def _cell(cell: tuple[Inline, ...], numeric: bool) -> str:
    """A table cell; a number the matrix form wrote for LaTeX (-0.54) gets a real minus sign."""
    text = inline(cell)
    return text.replace("-", "−") if numeric and all(isinstance(p, str) for p in cell) else text


def bracketed(m: Matrix) -> list[str]:
    """A matrix drawn over its rows: entries right-aligned by column, in brackets (⎡ ⎢ ⎣ for several rows)."""
    cells = [[plain(e) for e in row] for row in m.entries]
    widths = [max(len(row[c]) for row in cells) for c in range(len(cells[0]))] if cells and cells[0] else [0]
    lines = ["  ".join(cell.rjust(wd) for cell, wd in zip(row, widths, strict=True)) for row in cells] or [""]
    if len(lines) == 1:
        return [f"[ {lines[0]} ]"]
    left = ["⎡", *["⎢"] * (len(lines) - 2), "⎣"]
    right = ["⎤", *["⎥"] * (len(lines) - 2), "⎦"]
    return [f"{a} {line} {b}" for a, line, b in zip(left, lines, right, strict=True)]


def matrix_lines(eq: MatrixEquation, width: int = 96) -> list[str]:
    """The equation drawn over several lines, each piece centred on the middle row; a line wider
    than `width` continues below, indented, at a piece boundary."""
    pieces = [bracketed(t) if isinstance(t, Matrix) else [plain(t)] for t in eq.terms]
    out: list[str] = []
    row: list[list[str]] = []
    used = 2
    for piece in pieces:
        size = max(len(p) for p in piece) + 1
        if row and used + size > width:
            out += _side_by_side(row, "      " if out else "  ")
            row, used = [], 6
        row.append(piece)
        used += size
    out += _side_by_side(row, "  " if not out else "      ")
    return out


def _side_by_side(pieces: list[list[str]], indent: str) -> list[str]:
    """Pieces of text blocks next to each other, vertically centred."""
    height = max(len(p) for p in pieces)
    lines = [indent] * height
    for p in pieces:
        wd = max(len(s) for s in p)
        top = (height - len(p)) // 2
        for i in range(height):
            j = i - top
            lines[i] += (p[j] if 0 <= j < len(p) else "").ljust(wd) + " "
    return [line.rstrip() for line in lines]


def plain_text(renderable: RenderableType, width: int = 100) -> str:
    """A renderable as plain text, `width` columns wide (no colour): for files and downloads."""
    import os

    from rich.console import Console

    with open(os.devnull, "w") as sink:
        console = Console(record=True, highlight=False, width=width, file=sink)
        console.print(renderable)
    return console.export_text()
