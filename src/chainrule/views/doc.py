"""The worked example as a small document: headings, paragraphs, equations, tables, figures.

`story.py` walks a step record once and emits these blocks; markdown.py, latex.py and html.py
each render them. Math is held as LaTeX (the subset below), which Markdown and LaTeX print as
it is and HTML turns into MathML: the story is told once and shown three ways.

The math subset: letters, digits, _{} and ^{}, \\frac, \\partial, \\hat, \\text, \\cdot,
\\approx, \\sum, \\delta, \\sigma, \\eta, \\left( \\right), \\mathbf, \\quad. Words from a user
(names) appear only inside \\text{}, escaped by `escape.latex` (`tex_words`): LaTeX prints them as
they are, Markdown passes them to its math, and HTML reads them back (`escape.latex_decode`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from chainrule.record.names import split_example
from chainrule.record.rounding import places
from chainrule.views import escape
from chainrule.views.mathtree import Node, Num, Paren, Sym, Word
from chainrule.views.numbers import Names, fmt


@dataclass(frozen=True)
class Math:
    """Inline math: a math tree (views.mathtree), or LaTeX where the matrix form still writes it."""

    tex: Node | str


@dataclass(frozen=True)
class Strong:
    """Bold words."""

    text: str


Inline = str | Math | Strong
Cell = tuple[Inline, ...]


@dataclass(frozen=True)
class Heading:
    level: int  # 1 = the title
    text: str


@dataclass(frozen=True)
class Para:
    parts: tuple[Inline, ...]


@dataclass(frozen=True)
class Equations:
    """Display math, one equation a row, aligned on the relation that starts `rhs`."""

    rows: tuple[tuple[Node | str, Node | str], ...]  # (lhs, rhs); rhs starts with its relation


@dataclass(frozen=True)
class Bullets:
    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    numeric: tuple[bool, ...]  # right-align this column


@dataclass(frozen=True)
class Figure:
    """An SVG drawing; `name` is its file name (without .svg) beside Markdown and LaTeX."""

    name: str
    svg: str
    caption: str


@dataclass(frozen=True)
class Matrix:
    """A matrix written out: each entry's LaTeX (a number, or \\cdots, \\vdots, \\ddots where elided)."""

    entries: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class MatrixEquation:
    """One line of display math with matrices written out: LaTeX pieces and matrices, in order.

    Markdown and LaTeX write each matrix as a bmatrix, HTML as a MathML table in brackets, the
    terminal draws it in brackets over several lines.
    """

    terms: tuple[str | Matrix, ...]


Block = Heading | Para | Equations | Bullets | Table | Figure | MatrixEquation


def matrix_tex(m: Matrix) -> str:
    """A matrix as a bmatrix (amsmath)."""
    rows = r" \\ ".join(" & ".join(row) for row in m.entries)
    return rf"\begin{{bmatrix}} {rows} \end{{bmatrix}}"


def matrix_equation_tex(eq: MatrixEquation) -> str:
    """The whole line as LaTeX."""
    return " ".join(t if isinstance(t, str) else matrix_tex(t) for t in eq.terms)


def layer_sup(index: int) -> str:
    """A layer's superscript (ˡ): written ({l}) so that plainmath tells it from a batch example's (k)."""
    return f"^{{({{{index}}})}}"


# -- names and numbers in LaTeX ------------------------------------------------------------------

_GREEK = {"alpha": r"\alpha", "delta": r"\delta", "eta": r"\eta", "sigma": r"\sigma"}


def tex_name(name: str, names: Names) -> str:
    """A value's name as math: a_out → \\hat{y} (one output), z_out → z_{\\text{out}}, w5 → w_{5}.

    A batch example's suffix #k (k digits) becomes a superscript (k). Whatever else a name holds
    goes into \\text{} escaped (`escape.latex`), so no name can write a command into the math.
    """
    base, k = split_example(name)
    sup = f"^{{({k})}}" if k else ""
    shown = names.show(base)
    if shown == "ŷ":
        return r"\hat{y}" + sup
    if shown == "L":
        return "L" + sup
    head, sep, sub = shown.partition("_")
    if not sep:
        m = re.fullmatch(r"([A-Za-z])(\d+)", shown)
        if m:
            head, sub = m.group(1), m.group(2)
    if head in _GREEK:
        head = _GREEK[head]
    elif re.fullmatch(r"[A-Za-z][A-Za-z0-9]+", head):
        head = rf"\mathit{{{head}}}"
    elif not re.fullmatch(r"[A-Za-z]", head):
        head = tex_words(head)
    if sub:
        return f"{head}_{{{_sub(sub)}}}{sup}"
    return head + sup


_GREEK_NAMES = {"alpha": "α", "delta": "δ", "eta": "η", "sigma": "σ"}


def name_sym(name: str, names: Names) -> Sym:
    """A value's name as a math tree: a_out → ŷ (one output), z_out → z with subscript out, w5 → w₅.

    A batch example's suffix #k (k digits) becomes a superscript (k). The name's characters are
    data: each printer escapes or typesets them for its format.
    """
    base, k = split_example(name)
    sup = Paren(Word(str(k))) if k else None
    shown = names.show(base)
    if shown == "ŷ":
        return Sym("y", None, sup, hat=True)
    head, sep, sub = shown.partition("_")
    if not sep:
        m = re.fullmatch(r"([A-Za-z])(\d+)", shown)
        if m:
            head, sub = m.group(1), m.group(2)
    head = _GREEK_NAMES.get(head, head)
    return Sym(head, Word(sub) if sub else None, sup)


def _sub(sub: str) -> str:
    """A subscript: digits and letters-with-digits (h1) as math, a word (out) or anything else as words."""
    if re.fullmatch(r"[A-Za-z0-9]+", sub) and not (sub.isalpha() and len(sub) > 1):
        return sub
    return tex_words(sub)


def tex_words(words: str) -> str:
    """Words inside math: \\text{} of the words escaped for LaTeX (every renderer reads them back)."""
    return rf"\text{{{escape.latex(words)}}}"


def partial(num: str, den: str, names: Names, slash: bool = False) -> str:
    """∂num/∂den as a fraction (or with a slash, for tables and running text)."""
    a, b = tex_name(num, names), tex_name(den, names)
    if slash:
        return rf"\partial {a}/\partial {b}"
    return rf"\frac{{\partial {a}}}{{\partial {b}}}"


def written(x: float, digits: int) -> str:
    """A hand-worked figure with all its decimals, trailing zeros kept (0.0150, 0.000670), as written.

    The same places as `fmt`: `digits` decimals, more for small numbers so that they keep
    digits − 1 significant digits.
    """
    text = fmt(x, digits)
    if not math.isfinite(x) or x == 0 or "e" in text:
        return text
    return f"{x:.{places(x, digits)}f}".replace("-", "−")


def num(x: float, digits: int, hand: bool = False) -> str:
    """A number in LaTeX: the views' own format (hand figures with their zeros), with a real minus sign."""
    text = written(x, digits) if hand else fmt(x, digits)
    return text.replace("−", "-").replace("∞", r"\infty")


def num_node(x: float, digits: int, hand: bool = False) -> Num:
    """A number as a math tree node: its value and the digits the one rule writes."""
    text = written(x, digits) if hand else fmt(x, digits)
    return Num(x, text.replace("−", "-").replace("∞", "inf"))


def snum(x: float, digits: int, hand: bool = False) -> str:
    """A number inside a product or sum: negative ones in parentheses."""
    text = num(x, digits, hand)
    return rf"\left({text}\right)" if text.startswith("-") else text


_PLAIN = [
    ("−", "-"),
    ("½", r"\tfrac{1}{2}"),
    ("·", r" \cdot "),
    ("²", "^{2}"),
    ("σ", r"\sigma"),
    ("α", r"\alpha "),
    ("λ", r"\lambda "),
    ("φ", r"\varphi"),
    ("Φ", r"\Phi"),
    ("Σ", r"\sum "),
    ("≤", r"\le "),
    ("≥", r"\ge "),
    ("ŷ", r"\hat{y}"),
    ("ⱼ", "_j"),
]


def plain_to_tex(template: str, **subs: str) -> str:
    """A registry's plain formula (`1 if {z} > 0, else α`) as LaTeX, placeholders filled with `subs`.

    Words become \\text{}; the placeholders are filled last, so their LaTeX is left alone.
    """
    text = re.sub(r"\{(\w+)\}", lambda m: f"\x00{m.group(1)}\x00", template)
    for a, b in _PLAIN:
        text = text.replace(a, b)
    text = re.sub(r"\b(if|else|their|count|for)\b", lambda m: rf"\text{{ {m.group(1)} }}", text)
    text = re.sub(r"\blog\b", r"\\log", text)
    return re.sub("\x00(\\w+)\x00", lambda m: "{" + subs[m.group(1)] + "}", text)


_BREAK_AT = ("=", "≈", "<", ">", "≤", "≥")


def broken_rows(
    rows: tuple[tuple[Node | str, Node | str], ...], width: int = 70
) -> list[tuple[Node | str, Node | str]]:
    """Rows for a page: a long chain of relations continues on the next row at a relation (= or ≈).

    Widths are measured as the terminal writes the math, a fair proxy for the typeset width (a
    fraction is narrower, a subscript the same): a page holds about `width` such characters.
    """
    from chainrule.views.math_text import terminal
    from chainrule.views.mathtree import Rel

    out: list[tuple[Node | str, Node | str]] = []
    for lhs, rhs in rows:
        if (
            not isinstance(rhs, Rel)
            or len(terminal(rhs)) + len(lhs if isinstance(lhs, str) else terminal(lhs)) <= width
        ):
            out.append((lhs, rhs))
            continue
        pieces: list[list[Node | str]] = [[]]
        for p in rhs.parts:
            if isinstance(p, str) and p in _BREAK_AT and pieces[-1] and _width(pieces[-1]) > width // 3:
                pieces.append([])
            pieces[-1].append(p)
        for i, piece in enumerate(pieces):
            out += [(lhs if i == 0 and j == 0 else "", row) for j, row in enumerate(_sum_rows(piece, width))]
    return out


def _sum_rows(piece: list[Node | str], width: int) -> list[Node]:
    """One relation's side; a sum too wide for a row goes on over several, each further row starting with its sign."""
    from chainrule.views.mathtree import Add, Rel

    last = piece[-1]
    if _width(piece) <= width or not isinstance(last, Add) or len(last.terms) < 2:
        return [Rel(tuple(piece))]
    rows: list[Node] = []
    head: list[Node | str] = list(piece[:-1])
    terms: list[tuple[str, Node]] = []
    for sign, term in zip(last.signs, last.terms, strict=True):
        if terms and _width([*head, Add(tuple(t for _, t in terms), tuple(g for g, _ in terms)), "+", term]) > width:
            rows.append(Rel((*head, Add(tuple(t for _, t in terms), tuple(g for g, _ in terms)))))
            head, terms = ["quad", "-" if sign == "-" else "+"], [("", term)]
            continue
        terms.append((sign, term))
    rows.append(Rel((*head, Add(tuple(t for _, t in terms), tuple(g for g, _ in terms)))))
    return rows


def _width(parts: list[Node | str]) -> int:
    from chainrule.views.math_text import terminal
    from chainrule.views.mathtree import Rel

    return len(terminal(Rel(tuple(parts))))
