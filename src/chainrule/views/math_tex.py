"""The math tree (views.mathtree) printed as LaTeX math (amsmath): names through escape.latex, never markup."""

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
    atom,
    number_parts,
    scaled,
    template_pieces,
)

RELATIONS_TEX = {"=": "=", "≈": r"\approx", "<": "<", ">": ">", "≤": r"\le", "≥": r"\ge", "→": r"\rightarrow"}
RELATIONS_TEX.update({",": ",", "≠": r"\ne", "": "", "quad": r"\quad", "+": "+", "-": "-"})

_GREEK_TEX = {
    "α": r"\alpha",
    "β": r"\beta",
    "δ": r"\delta",
    "ε": r"\varepsilon",
    "η": r"\eta",
    "θ": r"\theta",
    "λ": r"\lambda",
    "μ": r"\mu",
    "ρ": r"\rho",
    "σ": r"\sigma",
    "Σ": r"\sum",
    "Δ": r"\Delta",
    "…": r"\dots",
    "→": r"\rightarrow",
}


def latex(node: Node) -> str:
    """The node as LaTeX math (amsmath); every name's characters escaped, never markup."""
    return _LATEX[type(node)](node)


def tex_base(base: str) -> str:
    """A name's base: one ASCII letter or a known Greek letter as math, other letters italic, anything else as words."""
    if re.fullmatch(r"[A-Za-z]", base):
        return base
    if base in _GREEK_TEX:
        return _GREEK_TEX[base]
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9]+", base):
        return rf"\mathit{{{base}}}"
    return tex_words(base)


def tex_words(text: str) -> str:
    """Words inside math: \\text{} of the escaped words, their Greek letters and signs as math (no nested $)."""
    if not text:
        return ""
    words = rf"\text{{{escape.latex(text)}}}"
    # escape.latex writes a Greek letter or sign as $\alpha$ for text; inside math it stands bare.
    return re.sub(r"\$([^$]*)\$", lambda m: "}" + m.group(1) + r"\text{", words).replace(r"\text{}", "")


def _l_sym(s: Sym) -> str:
    out = tex_base(s.base)
    if s.hat:
        out = rf"\hat{{{out}}}"
    if s.sub is not None:
        out += f"_{{{_script(s.sub)}}}"
    if s.sup is not None:
        out += f"^{{{_script(s.sup)}}}"
    return out


def _script(node: Node) -> str:
    return _l_sub_word(node) if isinstance(node, Word) else latex(node)


def _l_sub_word(w: Word) -> str:
    """A name's subscript: letters with digits (h1) and digits as math, a word (out) or anything else as words."""
    if re.fullmatch(r"[A-Za-z0-9]+", w.text) and not (w.text.isalpha() and len(w.text) > 1):
        return w.text
    return tex_words(w.text)


def _l_num(n: Num) -> str:
    negative, digits, exp = number_parts(n)
    if digits == "inf":
        digits = r"\infty"
    text = digits if exp is None else rf"{digits} \times 10^{{{exp}}}"
    return ("-" if negative else "") + text


def _l_add(a: Add) -> str:
    out = []
    for i, (sign, term) in enumerate(zip(a.signs, a.terms, strict=True)):
        out.append(("-" if sign == "-" else "") if i == 0 else f" {sign} ")
        out.append(latex(term))
    return "".join(out)


def _l_mul(m: Mul) -> str:
    parts = [rf"\left({latex(f)}\right)" if isinstance(f, Add) else latex(f) for f in m.factors]
    return (r" \cdot " if m.dot else r" \, ").join(parts)


def _l_pow(p: Pow) -> str:
    base = latex(p.base)
    if not atom(p.base) or isinstance(p.base, Partial) or scaled(p.base):
        base = rf"\left({base}\right)"
    return f"{base}^{{{latex(p.exp)}}}"


def _l_func(f: Func) -> str:
    name = tex_base(f.name) if len(f.name) == 1 else rf"\mathrm{{{escape.latex(f.name)}}}"
    prime = "'" if f.prime else ""
    arg = latex(f.arg)
    return f"{name}{prime}({arg})" if atom(f.arg) else rf"{name}{prime}\left({arg}\right)"


def _l_partial(p: Partial) -> str:
    a, b = latex(p.num), latex(p.den)
    return rf"\partial {a}/\partial {b}" if p.slash else rf"\frac{{\partial {a}}}{{\partial {b}}}"


def _l_rel(r: Rel) -> str:
    return " ".join(RELATIONS_TEX[p] if isinstance(p, str) else latex(p) for p in r.parts).replace(" ,", ",")


_PLAIN_TEX = [
    ("−", "-"),
    ("½", r"\tfrac{1}{2}"),
    ("·", r" \cdot "),
    ("²", "^{2}"),
    ("σ", r"\sigma "),
    ("α", r"\alpha "),
    ("λ", r"\lambda "),
    ("Σ", r"\sum "),
    ("≤", r"\le "),
    ("≥", r"\ge "),
    ("ŷ", r"\hat{y}"),
    ("ⱼ", "_j"),
    ("φ", r"\varphi "),
    ("Φ", r"\Phi "),
]


def plain_tex(text: str) -> str:
    """A registry template's fixed text (chainrule's own, never a user's) as LaTeX."""
    for a, b in _PLAIN_TEX:
        text = text.replace(a, b)
    text = re.sub(r"\b(if|else|their|count|for|since)\b", lambda m: rf"\text{{ {m.group(1)} }}", text)
    return re.sub(r"\blog\b", r"\\log", text)


def _l_template(t: Template) -> str:
    return "".join(plain_tex(p) if isinstance(p, str) else "{" + latex(p) + "}" for p in template_pieces(t))


_LATEX: dict[type, Callable[[Any], str]] = {
    Sym: _l_sym,
    Word: lambda w: tex_words(w.text),
    Num: _l_num,
    Op: lambda o: _GREEK_TEX.get(o.sign, o.sign),
    Add: _l_add,
    Mul: _l_mul,
    Frac: lambda f: rf"\frac{{{latex(f.num)}}}{{{latex(f.den)}}}",
    Pow: _l_pow,
    Sqrt: lambda s: rf"\sqrt{{{latex(s.body)}}}",
    Func: _l_func,
    Paren: lambda p: f"({_script(p.body)})" if isinstance(p.body, (Word, Sym)) else rf"\left({latex(p.body)}\right)",
    Partial: _l_partial,
    Via: lambda v: rf"{latex(v.body)}\Big|_{{\text{{via }} {latex(v.label)}}}",
    Seq: lambda s: (s.sep.strip() + " " if s.sep.strip() else r" \, " if s.sep else " ").join(
        latex(i) for i in s.items
    ),
    Rel: _l_rel,
    Note: lambda n: rf"\quad {tex_words(f'({n.text})')}",
    Bold: lambda b: rf"\mathbf{{{latex(b.body)}}}",
    Formula: lambda f: f.tex,
    Template: _l_template,
}
