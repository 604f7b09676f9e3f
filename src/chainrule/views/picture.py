"""A diagram drawn by LaTeX itself, in its own picture environment: no converter, no TikZ.

pdflatex cannot include SVG, and TikZ is not in the TeX packages the project installs
(texlive-latex-base and -recommended), so the drawing that svg.py lays out is drawn here: the
words by the picture environment's \\put, the edges and neurons by pdfTeX's own \\pdfliteral
(PDF's path operators: any slope, any width, real dashes, a few bytes an edge). The kernel's
\\qbezier would draw each edge as hundreds of dots and runs out of TeX's memory on a network
with a few hundred edges. Under an engine without \\pdfliteral the words still show.

Coordinates are SVG user units with y downwards; the picture and PDF count y upwards.
"""

from __future__ import annotations

from chainrule.views import escape
from chainrule.views.svg import Circle, Drawing, Label, Line

UNIT_PT = 0.55  # one SVG unit in TeX points: the SVG's 12–16 unit words come out 6.6–8.8pt
_BP = UNIT_PT * 72 / 72.27  # one SVG unit in PDF points (big points)
_KAPPA = 0.5523  # a quarter circle as one cubic Bézier: control points this far along the tangents

PREAMBLE = r"\usepackage{color}"


def _size(svg_size: int) -> str:
    """An SVG font size as the nearest standard size (arbitrary sizes would need scalable fonts)."""
    pt = svg_size * UNIT_PT
    return r"\tiny" if pt < 7.5 else r"\scriptsize" if pt < 8.6 else r"\footnotesize"


def _pt(v: float) -> str:
    return f"{v * _BP:.2f}"


def _edge(d: Drawing, e: Line) -> str:
    """An edge as a PDF path: its width, its dashes (7 on, 4 off, as the SVG's), a move and a line."""
    dash = f"[{_pt(7)} {_pt(4)}] 0 d" if e.dashed else "[] 0 d"
    ends = f"{_pt(e.x1)} {_pt(d.height - e.y1)} m {_pt(e.x2)} {_pt(d.height - e.y2)} l S"
    return f"{_pt(e.width)} w {dash} {ends}"


def _neuron(d: Drawing, c: Circle) -> str:
    """A neuron as four Bézier quarters, filled white (over the edges' ends) and stroked black."""
    x, y, r = c.x, d.height - c.y, c.r
    k = _KAPPA * r
    quarters = [
        (x + r, y + k, x + k, y + r, x, y + r),
        (x - k, y + r, x - r, y + k, x - r, y),
        (x - r, y - k, x - k, y - r, x, y - r),
        (x + k, y - r, x + r, y - k, x + r, y),
    ]
    curves = " ".join(" ".join(_pt(v) for v in q) + " c" for q in quarters)
    return f"{_pt(2)} w [] 0 d {_pt(x + r)} {_pt(y)} m {curves} b"


def _label(d: Drawing, t: Label) -> str:
    """Words on a white ground (the SVG's halo), so that an edge beneath never hides them."""
    words = escape.latex(t.text)
    if t.bold:
        words = rf"\textbf{{{words}}}"
    box = rf"\colorbox{{white}}{{{_size(t.size)} {words}}}"
    align = "[l]" if t.anchor == "start" else "[r]" if t.anchor == "end" else ""
    # The SVG places the baseline at y; \makebox(0,0) centres its box there, a third of the size higher.
    return rf"\put({t.x:.1f},{d.height - t.y + t.size * 0.35:.1f}){{\makebox(0,0){align}{{{box}}}}}"


def picture(d: Drawing) -> str:
    """The drawing as a picture environment, scaled down to fit the line width and most of a page."""
    strokes = " ".join([_edge(d, e) for e in d.lines] + ["1 g 0 G"] + [_neuron(d, c) for c in d.circles])
    labels = "\n".join(_label(d, t) for t in d.labels)
    return (
        f"\\setlength{{\\unitlength}}{{{UNIT_PT}pt}}\\setlength{{\\fboxsep}}{{0.6pt}}%\n"
        f"\\sbox0{{\\begin{{picture}}({d.width},{d.height})\n"
        f"\\ifdefined\\pdfliteral\\put(0,0){{\\pdfliteral{{q 0 G 0 J {strokes} Q}}}}\\fi\n"
        f"{labels}\n\\end{{picture}}}}%\n"
        r"\ifdim\wd0>\linewidth\sbox0{\resizebox{\linewidth}{!}{\usebox0}}\fi"
        "%\n"
        r"\ifdim\ht0>0.8\textheight\sbox0{\resizebox{!}{0.8\textheight}{\usebox0}}\fi\usebox0"
    )
