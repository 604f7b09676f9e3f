"""The worked example as a complete LaTeX document that pdflatex compiles (base packages only).

Figures: pdflatex cannot read SVG, so a figure is included from FIGURES/name.pdf when that file
exists (convert the written SVG with any SVG-to-PDF tool) and otherwise named in a note.
"""

from __future__ import annotations

import re

from chainrule.record.step import StepRecord
from chainrule.views.doc import Block, Bullets, Equations, Figure, Heading, Inline, Math, Para, Strong, Table
from chainrule.views.numbers import DEFAULT_DIGITS

_SECTION = {1: "section*", 2: "section*", 3: "subsection*", 4: "subsubsection*", 5: "paragraph*"}

_TEXT_CHARS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "−": "$-$",
    "→": r"$\rightarrow$",
    "∂": r"$\partial$",
    "δ": r"$\delta$",
    "η": r"$\eta$",
    "α": r"$\alpha$",
    "σ": r"$\sigma$",
    "≈": r"$\approx$",
    "“": "``",
    "”": "''",
    "—": "---",
    "·": r"$\cdot$",
}


def text(s: str) -> str:
    """Plain words made safe for LaTeX."""
    return "".join(_TEXT_CHARS.get(c, c) for c in s)


def inline(parts: tuple[Inline, ...]) -> str:
    out = []
    for p in parts:
        if isinstance(p, Math):
            out.append(f"${p.tex}$")
        elif isinstance(p, Strong):
            out.append(rf"\textbf{{{text(p.text)}}}" if p.text else "")
        else:
            out.append(text(p))
    return "".join(out)


def equations(eq: Equations) -> str:
    if len(eq.rows) == 1:
        lhs, rhs = eq.rows[0]
        return f"\\[\n{lhs} {rhs}\n\\]"
    rows = " \\\\\n".join(f"{lhs} &{rhs}" for lhs, rhs in eq.rows)
    return f"\\begin{{align*}}\n{rows}\n\\end{{align*}}"


def block(b: Block, figures: str | None) -> str:
    if isinstance(b, Heading):
        if b.level == 1:
            return ""
        return f"\\{_SECTION.get(b.level, 'paragraph*')}{{{text(b.text)}}}"
    if isinstance(b, Para):
        return inline(b.parts)
    if isinstance(b, Equations):
        return equations(b)
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
        if figures is None:
            return ""
        path = f"{figures}/{b.name}"
        return (
            f"\\begin{{figure}}[htbp]\n\\centering\n\\IfFileExists{{{path}.pdf}}"
            f"{{\\includegraphics[width=\\linewidth]{{{path}.pdf}}}}"
            f"{{\\fbox{{\\parbox{{0.8\\linewidth}}{{\\centering Figure: \\texttt{{{text(path)}.svg}}}}}}}}\n"
            f"\\caption*{{{text(b.caption)}}}\n\\end{{figure}}"
        )
    raise TypeError(b)


_PREAMBLE = r"""\documentclass[11pt,a4paper]{article}
\usepackage[utf8]{inputenc}
\usepackage[margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{booktabs,longtable}
\usepackage{graphicx}
\usepackage{caption}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.6em}
\allowdisplaybreaks
"""


def render_blocks(blocks: list[Block], figures: str | None = None) -> str:
    """A complete document: preamble, title, body."""
    title = next((b.text for b in blocks if isinstance(b, Heading) and b.level == 1), "A worked step")
    body = "\n\n".join(p for p in (block(b, figures) for b in blocks) if p)
    doc = (
        f"{_PREAMBLE}\\title{{{text(title)}}}\n\\author{{chainrule}}\n\\date{{}}\n\n"
        f"\\begin{{document}}\n\\maketitle\n\n{body}\n\n\\end{{document}}\n"
    )
    return re.sub(r"\n{3,}", "\n\n", doc)


def render(
    records: list[StepRecord], digits: int = DEFAULT_DIGITS, only: str | None = None, figures: str | None = None
) -> str:
    from chainrule.views.story import story

    return render_blocks(story(records, digits, only, figures is not None), figures)
