"""The worked example as Markdown with $$ math: renders on GitHub, in Jupyter and in most editors.

Every word from a user is escaped by `escape.markdown` (no raw HTML, link, emphasis or math from
a name); in math, names sit inside \\text{} escaped for LaTeX (doc.tex_words). Figures: with
--figures DIR they are SVG files beside the document, linked as DIR/name.svg; without it each
figure is one line saying how to get it (an inline SVG would be raw HTML, which GitHub strips
and some viewers run).
"""

from __future__ import annotations

import re

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
    broken_rows,
    matrix_equation_tex,
)
from chainrule.views.math_tex import latex
from chainrule.views.mathtree import Node
from chainrule.views.numbers import DEFAULT_DIGITS


def tex(math: Node | str) -> str:
    """Math as LaTeX: a tree by its printer, the matrix form's LaTeX as it is."""
    return math if isinstance(math, str) else latex(math)


def inline(parts: tuple[Inline, ...]) -> str:
    out = []
    for p in parts:
        if isinstance(p, Math):
            out.append(f"${tex(p.tex)}$")
        elif isinstance(p, Strong):
            out.append(f"**{escape.markdown(p.text)}**" if p.text else "")
        else:
            out.append(escape.markdown(p))
    return "".join(out)


def equations(eq: Equations) -> str:
    """One $$ block; several rows are aligned on their relation."""
    broken = broken_rows(eq.rows)
    if len(broken) == 1 and not broken[0][0]:
        return f"$$\n{tex(broken[0][1])}\n$$"
    if len(broken) == 1:
        return f"$$\n{tex(broken[0][0])} {tex(broken[0][1])}\n$$"
    rows = " \\\\\n".join(f"{tex(lhs)} &{tex(rhs)}" for lhs, rhs in broken)
    return f"$$\n\\begin{{aligned}}\n{rows}\n\\end{{aligned}}\n$$"


def block(b: Block, figures: str | None) -> str:
    if isinstance(b, Heading):
        return "#" * b.level + " " + escape.markdown(b.text)
    if isinstance(b, Para):
        return escape.markdown_line_start(inline(b.parts))
    if isinstance(b, Equations):
        return equations(b)
    if isinstance(b, MatrixEquation):
        return f"$$\n{matrix_equation_tex(b)}\n$$"
    if isinstance(b, Bullets):
        return "\n".join("- " + inline(item) for item in b.items)
    if isinstance(b, Table):
        head = "| " + " | ".join(escape.markdown(h) for h in b.header) + " |"
        rule = "| " + " | ".join("---:" if n else ":---" for n in b.numeric) + " |"
        rows = ["| " + " | ".join(inline(c) for c in row) + " |" for row in b.rows]
        return "\n".join([head, rule, *rows])
    if isinstance(b, Figure):
        caption = escape.markdown(b.caption)
        if figures is None:
            return f"*Figure: {caption} Run `chainrule explain` with `--figures DIR` to draw it as DIR/{b.name}.svg.*"
        return f"![{caption}]({_link(f'{figures}/{b.name}.svg')})\n\n*{caption}*"
    raise TypeError(b)


def _link(path: str) -> str:
    """A link target: in <angle brackets> where spaces or brackets would end a bare one."""
    if re.search(r"[\s()<>\\]", path):
        return "<" + re.sub(r"([<>\\])", r"\\\1", path) + ">"
    return path


def render_blocks(blocks: list[Block], figures: str | None = None) -> str:
    """Markdown for the blocks; figures are linked as FIGURES/name.svg (a note how to get them without)."""
    parts = [block(b, figures) for b in blocks]
    return "\n\n".join(p for p in parts if p) + "\n"


def render(
    records: list[StepRecord], digits: int = DEFAULT_DIGITS, only: str | None = None, figures: str | None = None
) -> str:
    from chainrule.views.story import story

    return render_blocks(story(records, digits, only, figures=True), figures)
