"""The story's math as a small expression tree, printed by one printer per format (SymPy's model).

A node is data: a name (`Sym`, `Word`) holds the user's characters as they are, a number (`Num`)
its value and the digits the one rule for numbers (views.numbers) chose. Each printer walks the
same tree, one function per node type: views.math_text (plain Unicode, names through
escape.terminal), views.math_tex (LaTeX, names through escape.latex) and views.mathml
(presentation MathML). Nothing re-parses another printer's output.

The registry's formulas are fixed text written by chainrule (engine.activations, engine.losses),
never a user's: `Formula` carries their LaTeX and plain forms as they are, and `Template` fills a
registry's plain template ({a}(1 − {a})) with nodes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Sym:
    """A name: a base with an optional subscript and superscript (ŷ: base y with a hat)."""

    base: str
    sub: Node | None = None
    sup: Node | None = None
    hat: bool = False


@dataclass(frozen=True)
class Word:
    """Upright words inside math (a subscript `out`, `new`, `via h1`)."""

    text: str


@dataclass(frozen=True)
class Num:
    """A number: its value, and how the one rule writes it (ASCII '-', an 'e' before a power of ten)."""

    value: float
    shown: str

    @property
    def negative(self) -> bool:
        return self.shown.startswith("-")


@dataclass(frozen=True)
class Op:
    """A fixed sign of chainrule's own: Σ, …, →, 1 (as a literal), the letter e of e^z."""

    sign: str


@dataclass(frozen=True)
class Add:
    """Terms with their signs: signs[i] is "+" or "-" before terms[i] (the first may be "")."""

    terms: tuple[Node, ...]
    signs: tuple[str, ...]


@dataclass(frozen=True)
class Mul:
    """A product, with a dot (numbers) or side by side (a name times a name)."""

    factors: tuple[Node, ...]
    dot: bool = True


@dataclass(frozen=True)
class Frac:
    num: Node
    den: Node


@dataclass(frozen=True)
class Pow:
    base: Node
    exp: Node


@dataclass(frozen=True)
class Sqrt:
    body: Node


@dataclass(frozen=True)
class Func:
    """A function applied: σ(z), ReLU′(z), f′(z); `name` is chainrule's own symbol, never a user's."""

    name: str
    arg: Node
    prime: bool = False


@dataclass(frozen=True)
class Paren:
    body: Node


@dataclass(frozen=True)
class Partial:
    """∂num/∂den: a fraction in display, with a slash where `slash` (tables, running text)."""

    num: Node
    den: Node
    slash: bool = False


@dataclass(frozen=True)
class Via:
    """A path's part of a gradient: the expression, evaluated along `label` (∂L/∂b1 |via h1)."""

    body: Node
    label: Node


@dataclass(frozen=True)
class Seq:
    """Nodes one after another, joined by `sep` (", " for a list, "" side by side)."""

    items: tuple[Node, ...]
    sep: str = ", "


@dataclass(frozen=True)
class Rel:
    """A chain of relations: nodes, and between them relation signs (=, ≈, <, >, ≤, ≥, →, ",").

    A row of aligned equations starts with its sign (rhs of `lhs = …`).
    """

    parts: tuple[Node | str, ...]


@dataclass(frozen=True)
class Note:
    """Words after an equation, set apart: (from the unrounded values)."""

    text: str


@dataclass(frozen=True)
class Bold:
    body: Node


@dataclass(frozen=True)
class Formula:
    """A registry formula, in the two forms the registry writes it (LaTeX, plain Unicode)."""

    tex: str
    plain: str


@dataclass(frozen=True)
class Template:
    """A registry's plain template (`{a}(1 − {a})`) with its placeholders filled by nodes."""

    plain: str
    slots: tuple[tuple[str, Node], ...]


Node = (
    (Sym | Word | Num | Op | Add | Mul | Frac | Pow | Sqrt | Func | Paren | Partial | Via | Seq | Rel | Note | Bold)
    | Formula
    | Template
)


def template_pieces(t: Template) -> list[str | Node]:
    """The template's fixed text and its filled slots, in order."""
    slots = dict(t.slots)
    return [slots[piece] if slot else piece for piece, slot in _split(t.plain)]


@lru_cache(maxsize=256)  # the registry's few templates, each filled once a neuron a step
def _split(plain: str) -> tuple[tuple[str, bool], ...]:
    """A template's pieces: (fixed text, False) and (a slot's name, True), in order, empty text left out."""
    pieces = re.split(r"\{(\w+)\}", plain)
    return tuple((piece, bool(i % 2)) for i, piece in enumerate(pieces) if i % 2 or piece)


def number_parts(n: Num) -> tuple[bool, str, int | None]:
    """(negative, digits, power of ten or None): what every printer writes a number from."""
    text = n.shown.lstrip("-")
    mantissa, e, exp = text.partition("e")
    return n.negative, mantissa, int(exp) if e else None


def scaled(n: Node) -> bool:
    """A number written with a power of ten (6.5×10⁻⁹): as the base of a power it needs parentheses,
    (6.5×10⁻⁹)², or the power reads as the ten's (and LaTeX refuses a double superscript)."""
    return type(n) is Num and number_parts(n)[2] is not None


def atom(n: Node) -> bool:
    """A node that needs no parentheses as an operand: a name, a number (not negative), a bracket, a call."""
    return isinstance(n, (Sym, Num, Op, Word, Paren, Func, Partial)) and not (isinstance(n, Num) and n.negative)
