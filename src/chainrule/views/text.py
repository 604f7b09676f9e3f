"""The terminal view: the story's blocks (story.py), rendered with rich, math as plain Unicode.

The same blocks the Markdown, LaTeX and HTML documents render; only the notation differs
(∂L/∂w5 for the fraction, z_out for the subscript), written by plainmath from each block's LaTeX.
Figures are left out: a terminal cannot draw them.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderableType
from rich.rule import Rule
from rich.segment import Segment
from rich.style import Style
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
from chainrule.views.math_text import forget, terminal
from chainrule.views.mathtree import Node
from chainrule.views.numbers import DEFAULT_DIGITS
from chainrule.views.plainmath import plain as plain_tex
from chainrule.views.wrap import one_cell_wide, wrapped

BOLD = Style(bold=True)


def plain(math: Node | str) -> str:
    """Math as one line of plain Unicode: a tree by its printer, the matrix form's LaTeX by plainmath."""
    if type(math) is not str:
        return terminal(math)  # type: ignore[arg-type]
    return plain_tex(math) if math else ""  # (an empty left-hand side: a continuation row)


def render(record: StepRecord, digits: int = DEFAULT_DIGITS, only: str | None = None) -> RenderableType:
    """The whole explanation of one step, as one rich renderable."""
    return render_records([record], digits, only)


def render_records(
    records: list[StepRecord], digits: int = DEFAULT_DIGITS, only: str | None = None, steps: range | None = None
) -> Lines:
    """Several steps one after another: the title once, then each step under its own heading
    (`steps`: only that stretch of them, as views.story.story writes it)."""
    from chainrule.views.story import story

    return render_blocks(story(records, digits, only, figures=False, steps=steps))


def render_blocks(blocks: list[Block]) -> Lines:
    """Any story's blocks (the matrix form's too) as one rich renderable."""
    try:
        return Lines.join([r for b in blocks if (r := block(b)) is not None])
    finally:
        forget()


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
    cells = [_width(a) for a in lhs]  # (m̂ is two characters and one cell)
    width = max(cells)
    return [
        f"{a}{' ' * (width - n)} {plain(b)}".rstrip() if width else plain(b)
        for a, n, (_, b) in zip(lhs, cells, eq.rows, strict=True)
    ]


def block(b: Block) -> RenderableType | None:
    if isinstance(b, Heading):
        if b.level == 1:
            return Rule(Text(escape.terminal(b.text), style="bold"), style="cyan")
        if b.level == 2:
            return Rule(Text(escape.terminal(b.text), style="bold cyan"), align="left", style="cyan")
        return Lines([escape.terminal(b.text)], BOLD)
    if isinstance(b, Para):
        return Lines(inline(b.parts).split("\n"))
    if isinstance(b, Equations):
        return Lines(["  " + line for line in equation_lines(b)])
    if isinstance(b, Bullets):
        return Lines(["  • " + inline(item) for item in b.items])
    if isinstance(b, Table):
        return table(b)
    if isinstance(b, MatrixEquation):
        return Lines(matrix_lines(b), wrap=False)
    if isinstance(b, Figure):
        return None
    raise TypeError(b)


class Lines:
    """Lines of plain text, one style each, that rich prints as they are, plus the few renderables
    (a heading's rule) between them.

    Rendering the story through rich's Text and Table took ~4 s for `explain xor --steps 100`, most
    of it measuring and wrapping lines that fit. Here a line that fits the width is written
    directly; only a line that does not is handed to rich's Text (wrapped exactly as before), and a
    table wider than the console to rich's Table, so the output is the same, character for character.
    In a terminal every line it yields fits the width: `print(lines, crop=False)` spares rich
    measuring them all again (views/wrap.py says why measuring is slow).
    """

    def __init__(self, lines: list[str], style: Style | None = None, wrap: bool = True) -> None:
        self.items: list[tuple[str, Style | None, bool] | RenderableType] = [(s, style, wrap) for s in lines]

    @classmethod
    def join(cls, parts: list[RenderableType]) -> Lines:
        """Several renderables as one: the lines of each Lines in order, any other renderable in its place."""
        out = cls([])
        for p in parts:
            out.items += p.items if isinstance(p, Lines) else [p]
        return out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType | Segment]:
        width, fold = options.max_width, not options.no_wrap
        newline = Segment.line()
        run: list[str] = []  # unstyled lines printed as they are, handed to rich as one segment
        for item in self.items:
            if isinstance(item, tuple):
                line, style, wrap = item
                shown = [line]
                if fold and not _fits(line, width):  # wrapped as rich wraps it, a matrix row cropped
                    pieces = wrapped(line, width) if wrap else [set_cell_size(line, width)]
                    if pieces is None:  # a character rich must measure
                        yield from _flush(run)
                        yield _text(item)
                        continue
                    shown = pieces
                if style is None:
                    run += shown
                else:
                    yield from _flush(run)
                    for piece in shown:
                        yield Segment(piece, style)
                        yield newline
            else:
                yield from _flush(run)
                yield item
        yield from _flush(run)

    def plain(self, console: Console) -> str:
        """The lines as plain text, as `console.print` (not soft-wrapping) would print them: written
        directly where they fit, rendered by rich (wrapped, cropped) where they do not."""
        out = []
        width, options = console.width, console.options
        for item in self.items:
            if isinstance(item, tuple) and _fits(item[0], width):
                out.append(item[0] + "\n")
                continue
            if isinstance(item, tuple) and item[2] and (pieces := wrapped(item[0], width)) is not None:
                out += (piece + "\n" for piece in pieces)
                continue
            shown = _text(item) if isinstance(item, tuple) else item
            for line in Segment.split_and_crop_lines(console.render(shown, options), width, pad=False):
                out += (s.text for s in line if not s.control)
        return "".join(out)


def _flush(run: list[str]) -> Iterator[Segment]:
    """Lines gathered so far as one segment (rich splits and crops it at its newlines as it would
    each line's): 22 000 lines printed as a few hundred segments, not 44 000. Empties `run`."""
    if run:
        yield Segment("\n".join(run) + "\n")
        run.clear()


def _text(item: tuple[str, Style | None, bool]) -> Text:
    """A line as the rich Text it stood for: wrapped at the width, or (a matrix's) never wrapped."""
    line, style, wrap = item
    return Text(line, style=style or "", no_wrap=not wrap, overflow=None if wrap else "ignore")


def _width(text: str) -> int:
    """The terminal cells `text` takes (its length, where every character takes one)."""
    return len(text) if one_cell_wide(text) else cell_len(text)


def _fits(line: str, width: int) -> bool:
    """Whether a line fits `width` terminal cells (no character is wider than 2: most lines need no measuring)."""
    return 2 * len(line) <= width or _width(line) <= width


class _Laid:
    """A table laid out as rich's Table lays it out when it fits (columns two spaces apart, the header
    bold); the rich Table itself where it does not fit, which narrows and wraps its columns."""

    def __init__(self, b: Table) -> None:
        self.header = list(b.header)
        self.rows = [[_cell(c, n) for c, n in zip(row, b.numeric, strict=True)] for row in b.rows]
        self.numeric = b.numeric
        self.widths = [max(_width(r[i]) for r in [self.header, *self.rows]) for i in range(len(self.header))]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType | Segment]:
        if sum(self.widths) + 2 * (len(self.widths) - 1) > options.max_width or not all(self.widths):
            yield self.rich()
            return
        newline = Segment.line()
        yield Segment(self.line(self.header), BOLD)
        yield newline
        for row in self.rows:
            yield Segment(self.line(row))
            yield newline

    def line(self, cells: list[str]) -> str:
        padded = (
            " " * (w - _width(c)) + c if numeric else c + " " * (w - _width(c))
            for c, w, numeric in zip(cells, self.widths, self.numeric, strict=True)
        )
        return "  ".join(padded)

    def rich(self) -> RenderableType:
        from rich.table import Table as RichTable  # only for a table wider than the console

        t = RichTable(box=None, show_edge=False, pad_edge=False)
        for head, numeric in zip(self.header, self.numeric, strict=True):
            t.add_column(Text(head), justify="right" if numeric else "left")
        for row in self.rows:
            t.add_row(*(Text(c) for c in row))  # Text: rich would read a [ in a name as markup
        return t


def table(b: Table) -> RenderableType:
    """A table of the story, laid out once (rich's Table only if it does not fit)."""
    return _Laid(b)


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
        if isinstance(renderable, Lines):
            return renderable.plain(console)
        console.print(renderable)
    return console.export_text()
