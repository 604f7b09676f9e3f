"""The worked example as one self-contained HTML file: MathML math, inline CSS, inline SVG figures.

Nothing is fetched at view time (no script, font or style sheet from the network): browsers
render MathML natively, so the file opens offline and prints as it shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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
    MatrixEquation,
    Para,
    Strong,
    Table,
    matrix_equation_tex,
)
from chainrule.views.mathml import math as tree_math
from chainrule.views.mathml import mathml as tree_mathml
from chainrule.views.mathtree import Node
from chainrule.views.numbers import DEFAULT_DIGITS

_STYLE = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.5; color: #111; background: #fff; }
h1, h2, h3, h4 { font-family: 'Helvetica Neue', Arial, sans-serif; line-height: 1.25; }
h2 { border-bottom: 1px solid #999; padding-bottom: .2rem; margin-top: 2.2rem; }
math { font-size: 1.08em; }
math[display="block"] { margin: .8rem 0; overflow-x: auto; overflow-y: hidden; padding: .15rem 0; }
mtable mtd:first-child { text-align: right; }
mtable mtd:last-child { text-align: left; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #bbb; padding: .25rem .8rem; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5rem 0; text-align: center; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-style: italic; font-size: .95em; }
@media print { body { max-width: none; margin: 0; } h2 { break-after: avoid; } figure { break-inside: avoid; } }
"""


def mathml(tex: Node | str, display: bool = False) -> str:
    """Math as MathML: a tree by its printer (views.mathml); the matrix form's LaTeX by latex2mathml.

    LaTeX to MathML (presentation markup, rendered natively by the browser).

    latex2mathml copies \\text{} as it is (h1\\_1 would show its backslash, and a < would be
    markup), so each \\text{} is handed over as a placeholder and its words, read back from their
    LaTeX escapes, are put in as escaped HTML. Words from a user never reach the converter.
    """
    if not isinstance(tex, str):
        return tree_math(tex, display)
    from latex2mathml.converter import convert

    words: list[str] = []

    def hold(content: str) -> str:
        words.append(escape.latex_decode(content))
        return rf"\text{{{_WORD}{len(words) - 1}x}}"

    out = convert(_map_text(tex, hold), display="block" if display else "inline")
    # mtext trims its edges: spaces that belong to the words are kept as no-break spaces.
    return re.sub(_WORD + r"(\d+)x", lambda m: escape.html(words[int(m.group(1))]).replace(" ", "\u00a0"), out)


_WORD = "chainruleword"


def _map_text(tex: str, hold: Callable[[str], str]) -> str:
    """tex with the content of every \\text{...} (braces balanced, \\{ \\} skipped) replaced by hold(content)."""
    out, i = [], 0
    while (start := tex.find(r"\text{", i)) >= 0:
        j, depth = start + 6, 1
        while depth:
            if tex[j] == "\\":
                j += 2
                continue
            depth += {"{": 1, "}": -1}.get(tex[j], 0)
            j += 1
        out += [tex[i:start], hold(tex[start + 6 : j - 1])]
        i = j
    return "".join(out) + tex[i:]


def _inner(tex: Node | str) -> str:
    """The MathML of tex without its <math> element, to place inside a table cell of equations."""
    if not isinstance(tex, str):
        return tree_mathml(tex)
    out = mathml(tex)
    return re.sub(r"^<math[^>]*>|</math>$", "", out)


def _display(tex: Node | str) -> str:
    """A cell of an aligned display: full-size fractions, as in the display it belongs to."""
    return f'<mstyle displaystyle="true">{_inner(tex)}</mstyle>'


def inline(parts: tuple[Inline, ...]) -> str:
    out = []
    for p in parts:
        if isinstance(p, Math):
            out.append(mathml(p.tex))
        elif isinstance(p, Strong):
            out.append(f"<strong>{escape.html(p.text)}</strong>" if p.text else "")
        else:
            out.append(escape.html(p))
    return "".join(out)


def equations(eq: Equations) -> str:
    """Display math; several rows as an aligned MathML table (right-aligned sides, left-aligned relations)."""
    if len(eq.rows) == 1:
        lhs, rhs = eq.rows[0]
        return f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">{_side(lhs)}{_side(rhs)}</math>'

    rows = "".join(
        f'<mtr><mtd columnalign="right">{_display(lhs) if lhs else ""}</mtd>'
        f'<mtd columnalign="left">{_display(rhs)}</mtd></mtr>'
        for lhs, rhs in eq.rows
    )
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><mtable>{rows}</mtable></math>'


def _side(tex: Node | str) -> str:
    return _inner(tex) if tex else ""


def block(b: Block) -> str:
    if isinstance(b, Heading):
        level = min(b.level, 6)
        return f"<h{level}>{escape.html(b.text)}</h{level}>"
    if isinstance(b, Para):
        return f"<p>{inline(b.parts)}</p>"
    if isinstance(b, Equations):
        return equations(b)
    if isinstance(b, MatrixEquation):
        return mathml(matrix_equation_tex(b), display=True)
    if isinstance(b, Bullets):
        return "<ul>" + "".join(f"<li>{inline(i)}</li>" for i in b.items) + "</ul>"
    if isinstance(b, Table):
        cls = [' class="num"' if n else "" for n in b.numeric]
        head = "".join(f"<th{c}>{escape.html(h)}</th>" for h, c in zip(b.header, cls, strict=True))
        rows = "".join(
            "<tr>" + "".join(f"<td{c}>{inline(cell)}</td>" for cell, c in zip(row, cls, strict=True)) + "</tr>"
            for row in b.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    if isinstance(b, Figure):
        return f"<figure>{b.svg}<figcaption>{escape.html(b.caption)}</figcaption></figure>"
    raise TypeError(b)


def render_blocks(blocks: list[Block]) -> str:
    title = next((b.text for b in blocks if isinstance(b, Heading) and b.level == 1), "A worked step")
    # Inside HTML, <math> and <svg> need no namespace: leaving it out keeps the file free of URLs.
    body = re.sub(r' xmlns="[^"]*"', "", "\n".join(block(b) for b in blocks))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape.html(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def render(records: list[StepRecord], digits: int = DEFAULT_DIGITS, only: str | None = None) -> str:
    from chainrule.views.story import story

    return render_blocks(story(records, digits, only, figures=True))
