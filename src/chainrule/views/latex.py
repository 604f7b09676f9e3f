"""The worked example as a complete LaTeX document that pdflatex compiles (base packages only).

Figures: pdflatex cannot read SVG, so LaTeX draws each diagram itself (picture.py) from the
drawing the SVG holds; with --figures or without, the document shows it. Every word from a user
goes through `escape.latex`, in text and inside math's \\text{} alike.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

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
from chainrule.views.markdown import tex
from chainrule.views.numbers import DEFAULT_DIGITS
from chainrule.views.picture import PREAMBLE, picture
from chainrule.views.svg import read_svg

_SECTION = {1: "section*", 2: "section*", 3: "subsection*", 4: "subsubsection*", 5: "paragraph*"}


def text(s: str) -> str:
    """Plain words made safe for LaTeX (`escape.latex`), free to break after a / (a long path wraps)."""
    return escape.latex(s).replace("/", r"\slash{}")


def inline(parts: tuple[Inline, ...]) -> str:
    out = []
    for p in parts:
        if isinstance(p, Math):
            out.append(f"${tex(p.tex)}$")
        elif isinstance(p, Strong):
            out.append(rf"\textbf{{{text(p.text)}}}" if p.text else "")
        else:
            out.append(text(p))
    return "".join(out)


def equations(eq: Equations) -> str:
    """Display math; a long row continues on the next, aligned at its relation (broken_rows)."""
    broken = broken_rows(eq.rows)
    if len(broken) == 1:
        lhs, rhs = broken[0]
        return f"\\[\n{tex(lhs)} {tex(rhs)}\n\\]"
    rows = " \\\\\n".join(f"{tex(lhs)} &{tex(rhs)}" for lhs, rhs in broken)
    return f"\\begin{{align*}}\n{rows}\n\\end{{align*}}"


def figure(b: Figure) -> str:
    """The diagram drawn by LaTeX (picture.py); a figure that is not a drawing svg.py made is named in words."""
    try:
        drawn = picture(read_svg(b.svg))
    except (ET.ParseError, ValueError):
        drawn = rf"\fbox{{\parbox{{0.8\linewidth}}{{\centering {text(b.caption)} (shown in the HTML version)}}}}"
    return f"\\begin{{figure}}[!htbp]\n\\centering\n{drawn}\n\\caption*{{{text(b.caption)}}}\n\\end{{figure}}"


def block(b: Block) -> str:
    if isinstance(b, Heading):
        if b.level == 1:
            return ""
        return f"\\{_SECTION.get(b.level, 'paragraph*')}{{{text(b.text)}}}"
    if isinstance(b, Para):
        if any(isinstance(p, str) and re.search(r"[^\s/]{12,}/|/[^\s/]{12,}", p) for p in b.parts):
            # A long path breaks only at its slashes; a sloppy paragraph may then leave a line short
            # rather than run into the margin.
            return rf"{{\sloppy {inline(b.parts)}\par}}"
        return inline(b.parts)
    if isinstance(b, Equations):
        return equations(b)
    if isinstance(b, MatrixEquation):
        # A wide line shrinks to the text width rather than run into the margin.
        return f"\\[\n\\resizebox{{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}}{{!}}{{$\\displaystyle {matrix_equation_tex(b)}$}}\n\\]"
    if isinstance(b, Bullets):
        items = "\n".join(r"  \item " + inline(i) for i in b.items)
        return f"\\begin{{itemize}}\n{items}\n\\end{{itemize}}"
    if isinstance(b, Table):
        cols = "".join("r" if n else "l" for n in b.numeric)
        head = " & ".join(rf"\textbf{{{text(h)}}}" for h in b.header) + r" \\"
        rows = "\n".join(" & ".join(inline(c) for c in row) + r" \\" for row in b.rows)
        return (
            f"\\begin{{center}}\n\\begin{{longtable}}{{{cols}}}\n\\toprule\n{head}\n\\midrule\n\\endhead\n"
            f"{rows}\n\\bottomrule\n\\end{{longtable}}\n\\end{{center}}"
        )
    if isinstance(b, Figure):
        return figure(b)
    raise TypeError(b)


# The item bullet from math (the text one comes from a bitmap TS1 font); tables flush left, so
# that a single pdflatex run lines their head up with their rows (centring needs a second run).
_PREAMBLE = (
    r"""\documentclass[11pt,a4paper]{article}
\usepackage[utf8]{inputenc}
\usepackage[margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{booktabs,longtable}
\usepackage{graphicx}
\usepackage{caption}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.6em}
\allowdisplaybreaks
\setlength{\emergencystretch}{3em}
\renewcommand{\labelitemi}{$\bullet$}
\setlength{\LTleft}{2em}\setlength{\LTright}{0pt plus 1fill}
"""
    + PREAMBLE
    + "\n"
)


def render_blocks(blocks: list[Block]) -> str:
    """A complete document: preamble, title, body."""
    title = next((b.text for b in blocks if isinstance(b, Heading) and b.level == 1), "A worked step")
    body = "\n\n".join(p for p in (block(b) for b in blocks) if p)
    doc = (
        f"{_PREAMBLE}\\title{{{text(title)}}}\n\\author{{chainrule}}\n\\date{{}}\n\n"
        f"\\begin{{document}}\n\\maketitle\n\n{body}\n\n\\end{{document}}\n"
    )
    return re.sub(r"\n{3,}", "\n\n", doc)


def render(
    records: list[StepRecord], digits: int = DEFAULT_DIGITS, only: str | None = None, figures: str | None = None
) -> str:
    from chainrule.views.story import story

    # The figures are drawn in the document whether or not --figures also wrote them as SVG files.
    return render_blocks(story(records, digits, only, figures=True))
