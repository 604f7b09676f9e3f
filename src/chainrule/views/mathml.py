"""The math tree (views.mathtree) printed as presentation MathML, node by node.

Names are escaped HTML text inside <mi>/<mtext>; a negative number is a prefix minus
(<mo form="prefix">−</mo>), spaced as a sign, not as a binary operator; a power of ten is
<msup>. Only the registry's fixed formulas (chainrule's own LaTeX, never a user's) go through
latex2mathml.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from chainrule.views import escape
from chainrule.views.mathtree import (
    Add,
    Bold,
    Formula,
    Frac,
    Func,
    Mul,
    Node,
    Note,
    Num,
    Op,
    Paren,
    Partial,
    Pow,
    Rel,
    Seq,
    Sqrt,
    Sym,
    Template,
    Via,
    Word,
    number_parts,
    scaled,
    template_pieces,
)

NAMESPACE = "http://www.w3.org/1998/Math/MathML"


def math(node: Node, display: bool = False) -> str:
    """A whole <math> element."""
    mode = ' display="block"' if display else ""
    return f'<math xmlns="{NAMESPACE}"{mode}>{mathml(node)}</math>'


def mathml(node: Node) -> str:
    """The node's MathML, without the <math> element."""
    return _PRINT[type(node)](node)


def _mo(sign: str, prefix: bool = False) -> str:
    return f'<mo form="prefix">{sign}</mo>' if prefix else f"<mo>{escape.html(sign)}</mo>"


def _row(*parts: str) -> str:
    return "<mrow>" + "".join(parts) + "</mrow>"


def _sym(s: Sym) -> str:
    base = f"<mi>{escape.html(s.base)}</mi>"
    if s.hat:
        base = f'<mover accent="true">{base}<mo>^</mo></mover>'
    if s.sub is not None and s.sup is not None:
        return f"<msubsup>{base}{mathml(s.sub)}{mathml(s.sup)}</msubsup>"
    if s.sub is not None:
        return f"<msub>{base}{mathml(s.sub)}</msub>"
    if s.sup is not None:
        return f"<msup>{base}{mathml(s.sup)}</msup>"
    return base


def _word(w: Word) -> str:
    """A subscript's words: digits as a number, letters with digits (h1) as a name, anything else as text."""
    text = escape.html(w.text)
    if w.text.isdigit():
        return f"<mn>{text}</mn>"
    if re.fullmatch(r"[A-Za-z0-9]+", w.text):
        return f"<mi>{text}</mi>"
    return _text(w.text)


def _num(n: Num) -> str:
    negative, digits, exp = number_parts(n)
    body = "<mi>∞</mi>" if digits == "inf" else f"<mn>{digits}</mn>"
    if exp is not None:
        power = f"<mn>{abs(exp)}</mn>" if exp >= 0 else _row(_mo("−", prefix=True), f"<mn>{-exp}</mn>")
        body = _row(body, "<mo>×</mo>", f"<msup><mn>10</mn>{power}</msup>")
    return _row(_mo("−", prefix=True), body) if negative else body


def _add(a: Add) -> str:
    out = []
    for i, (sign, term) in enumerate(zip(a.signs, a.terms, strict=True)):
        if sign == "-":
            out.append(_mo("−", prefix=i == 0))
        elif i:
            out.append(_mo("+"))
        out.append(_paren(mathml(term)) if isinstance(term, Add) else mathml(term))
    return _row(*out)


def _paren(inner: str) -> str:
    return _row("<mo>(</mo>", inner, "<mo>)</mo>")


def _mul(m: Mul) -> str:
    sep = "<mo>·</mo>" if m.dot else "<mo>\u2062</mo>"  # an invisible times between names
    return _row(sep.join(_paren(mathml(f)) if isinstance(f, Add) else mathml(f) for f in m.factors))


def _pow(p: Pow) -> str:
    base = mathml(p.base)
    if isinstance(p.base, (Add, Mul, Frac, Partial)) or (isinstance(p.base, Num) and p.base.negative) or scaled(p.base):
        base = _paren(base)
    return f"<msup>{base}{mathml(p.exp)}</msup>"


def _func(f: Func) -> str:
    name = f"<mi>{escape.html(f.name)}</mi>"
    if f.prime:
        name = f"<msup>{name}<mo>′</mo></msup>"
    return _row(name, "<mo>\u2061</mo>", _paren(mathml(f.arg)))


def _partial(p: Partial) -> str:
    num = _row("<mo>∂</mo>", mathml(p.num))
    den = _row("<mo>∂</mo>", mathml(p.den))
    if p.slash:
        return _row(num, "<mo>/</mo>", den)
    return f"<mfrac>{num}{den}</mfrac>"


def _rel(r: Rel) -> str:
    parts = []
    for p in r.parts:
        if isinstance(p, str):
            space = '<mspace width="1em"/>' if p == "quad" else '<mspace width="0.5em"/>'
            parts.append(_mo("−" if p == "-" else p) if p and p != "quad" else space)
        else:
            parts.append(mathml(p))
    return _row(*parts)


def _text(text: str) -> str:
    # mtext trims its edges: spaces that belong to the words are kept as no-break spaces.
    words = escape.html(text).replace(" ", "\u00a0")
    return f"<mtext>{words}</mtext>"


_TOKEN = re.compile(r"\s+|[A-Za-z]+|[0-9.]+|.")


def _fixed(text: str, first: bool = True) -> str:
    """A registry template's fixed text (chainrule's own) as tokens: words, numbers, signs."""
    out = []
    before = "(" if first else "x"  # a minus first, or after an opening bracket or a sign, is a sign: a prefix
    for tok in _TOKEN.findall(text):
        if tok.isspace():
            continue
        prefix, before = tok in "-−" and before in "([=+−-·/", tok
        if prefix:
            out.append(_mo("−", prefix=True))
        elif tok in ("if", "else", "their", "count", "for", "since"):
            out.append(_text(f" {tok} "))
        elif tok[0].isdigit():
            out.append(f"<mn>{tok}</mn>")
        elif tok.isalpha() and tok not in "()[]":
            out.append(f"<mi>{escape.html(tok)}</mi>")
        else:
            out.append(_mo({"-": "−"}.get(tok, tok)))
    return "".join(out)


def _template(t: Template) -> str:
    pieces = template_pieces(t)
    return _row(*(_fixed(p, i == 0) if isinstance(p, str) else mathml(p) for i, p in enumerate(pieces)))


def _formula(f: Formula) -> str:
    from latex2mathml.converter import convert

    return re.sub(r"^<math[^>]*>|</math>$", "", convert(f.tex))


_PRINT: dict[type, Callable[[Any], str]] = {
    Sym: _sym,
    Word: _word,
    Num: _num,
    Op: lambda o: f"<mo>{escape.html(o.sign)}</mo>" if not o.sign.isalnum() else f"<mi>{o.sign}</mi>",
    Add: _add,
    Mul: _mul,
    Frac: lambda f: f"<mfrac>{mathml(f.num)}{mathml(f.den)}</mfrac>",
    Pow: _pow,
    Sqrt: lambda s: f"<msqrt>{mathml(s.body)}</msqrt>",
    Func: _func,
    Paren: lambda p: _paren(mathml(p.body)),
    Partial: _partial,
    Via: lambda v: _row(mathml(v.body), f"<msub><mo>|</mo>{_row(_text('via '), mathml(v.label))}</msub>"),
    Seq: lambda s: _seq(s),
    Rel: _rel,
    Note: lambda n: _row('<mspace width="1em"/>', _text(f"({n.text})")),
    Bold: lambda b: f'<mstyle mathvariant="bold">{mathml(b.body)}</mstyle>',
    Formula: _formula,
    Template: _template,
}


def _seq(s: Seq) -> str:
    sep = s.sep.strip()
    parts: list[str] = []
    for i, item in enumerate(s.items):
        if i and sep:
            parts.append(_mo(sep))
        parts.append(mathml(item))
    return _row(*parts)
