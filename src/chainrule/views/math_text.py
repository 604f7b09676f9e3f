"""The math tree (views.mathtree) printed as one line of plain Unicode, for the terminal and screen readers.

∂L/∂w5 for a partial, z_out for a subscript, ŷ, w5_new, a_h1⁽²⁾ for a batch example's value; every
name's characters through escape.terminal, so no control character or escape sequence reaches the screen.
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
    atom,
    number_parts,
    scaled,
    template_pieces,
)
from chainrule.views.numbers import times_ten

# A story names the same values in every equation of every step: each name is printed once. A
# Writer builds each name's tree, and each equation in names only (Writer.once), once for all the
# steps of a network, so the same object comes back many times: found by its id first (hashing a
# frozen tree hashes all of it, every time), then, a name, by its value. The entry holds the node,
# so its id is not reused meanwhile.
_SEEN: dict[Sym | Partial, str] = {}
_BY_ID: dict[int, tuple[Node, str]] = {}
_NUMS: dict[str, str] = {}  # a number as the one rule wrote it (-0.3) and as the terminal shows it


def forget() -> None:
    """Let go of the trees found by identity (a whole story's equations): kept past the story, they
    were freed only at exit, after a collector's pass over every one of them."""
    _BY_ID.clear()


_SPACES = re.compile(r"(?<=\S) {2,}(?=\S)")
_SUPER = str.maketrans("0123456789−+()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺⁽⁾")
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def terminal(node: Node) -> str:
    """One line of plain Unicode; names shown with every control character made visible."""
    kind = type(node)
    if kind is Num:  # the commonest node: found by its text before any call
        text = _NUMS.get(node.shown)  # type: ignore[union-attr]
        return text if text is not None else _t_num(node)  # type: ignore[arg-type]
    if kind is Paren:  # a negative number in a product or a sum, mostly
        body = node.body  # type: ignore[union-attr]
        if type(body) is Num:
            text = _NUMS.get(body.shown)
            return f"({text if text is not None else _t_num(body)})"
        return f"({terminal(body)})"
    if kind is Sym or kind is Partial or kind is Rel:
        seen = _BY_ID.get(id(node))
        if seen is not None and seen[0] is node:
            return seen[1]
        if kind is Rel:  # an equation: found again only where it is the same tree (Writer.once)
            text = _t_rel(node)  # type: ignore[arg-type]
        else:
            text = _SEEN.get(node)  # type: ignore[arg-type]
            if text is None:
                if len(_SEEN) >= 65536:
                    _SEEN.clear()
                text = _SEEN[node] = _TERMINAL[kind](node)  # type: ignore[index]
        if len(_BY_ID) >= 65536:
            _BY_ID.clear()
        _BY_ID[id(node)] = (node, text)
        return text
    return _TERMINAL[kind](node)


def _t_sym(s: Sym) -> str:
    base = "ŷ" if s.hat and s.base == "y" else escape.terminal(s.base) + ("\u0302" if s.hat else "")
    if type(s.sub) is Num and s.sub.shown.isdigit():  # chainrule's own indexed constant: β₁, not β1
        base += s.sub.shown.translate(_SUBSCRIPT)
    elif s.sub is not None:
        sub = terminal(s.sub)
        simple = re.fullmatch(r"[\w#′]+", sub) is not None
        base += sub if sub.isdigit() and not base[-1:].isdigit() else "_" + (sub if simple else f"({sub})")
    if s.sup is not None:
        base += _t_sup(s.sup)
    return base


def _t_sup(sup: Node) -> str:
    if isinstance(sup, Word):
        return "_" + escape.terminal(sup.text)
    text = terminal(sup)
    if re.fullmatch(r"[0-9−+()]+", text):
        return text.translate(_SUPER)
    return "^" + (text if re.fullmatch(r"[\w′]", text) else f"({text})")


def _t_num(n: Num) -> str:
    text = _NUMS.get(n.shown)
    if text is None:
        negative, digits, exp = number_parts(n)
        if digits == "inf":
            digits = "∞"
        text = digits if exp is None else times_ten(digits, exp)
        text = ("−" if negative else "") + text
        if len(_NUMS) >= 65536:
            _NUMS.clear()
        _NUMS[n.shown] = text
    return text


def _t_add(a: Add) -> str:
    out = []
    for i, (sign, term) in enumerate(zip(a.signs, a.terms, strict=True)):
        if i:
            out.append(" − " if sign == "-" else " + ")
        elif sign == "-":
            out.append("−")
        kind = type(term)
        if kind is Num:  # (inlined: a story prints some 10⁵ terms and factors)
            text = _NUMS.get(term.shown)  # type: ignore[union-attr]
            out.append(text if text is not None else _t_num(term))  # type: ignore[arg-type]
        elif kind is Mul:
            out.append(_t_mul(term))  # type: ignore[arg-type]
        else:
            out.append(f"({terminal(term)})" if kind is Add else terminal(term))
    return "".join(out)


def _t_mul(m: Mul) -> str:
    factors = m.factors
    out = []
    for f in factors:
        kind = type(f)
        if kind is Num:  # (inlined, as in _t_add)
            text = _NUMS.get(f.shown)  # type: ignore[union-attr]
            out.append(text if text is not None else _t_num(f))  # type: ignore[arg-type]
        elif kind is Paren and type(f.body) is Num:  # type: ignore[union-attr]
            text = _NUMS.get(f.body.shown)  # type: ignore[union-attr]
            out.append(f"({text if text is not None else _t_num(f.body)})")  # type: ignore[union-attr]
        else:
            out.append(_t_factor(f) if kind is Add or kind is Frac else terminal(f))
    if m.dot:
        return " · ".join(out)
    joined = out[:1]
    for before, f, text in zip(factors, factors[1:], out[1:], strict=False):  # (one shorter)
        sigma = type(before) is Sym and before.base == "Σ"  # Σ_k w_kj
        side = isinstance(before, Op) or isinstance(f, Paren)  # Σw, f′(z)(w·δ), (1/2)(a − y)
        joined.append(" " if sigma else "" if side else "·")
        joined.append(text)
    return "".join(joined)


def _t_factor(f: Node) -> str:
    """A factor of a product: a sum in parentheses, and a number's quotient too ((1/3)(…), not 1/3(…));
    a quotient standing alone (m̂ = 0.0000668/0.1) needs none."""
    if isinstance(f, Add) or (type(f) is Frac and atom(f.num) and atom(f.den) and isinstance(f.num, (Num, Op))):
        return f"({terminal(f)})"
    return terminal(f)


def _t_frac(f: Frac) -> str:
    a, b = terminal(f.num), terminal(f.den)
    return f"{_t_wrap(f.num, a)}/{_t_wrap(f.den, b)}"


def _t_wrap(n: Node, text: str) -> str:
    return text if atom(n) else f"({text})"


def _t_pow(p: Pow) -> str:
    base = terminal(p.base)
    base = f"({base})" if scaled(p.base) else _t_wrap(p.base, base)
    exp = terminal(p.exp)
    if re.fullmatch(r"[0-9−]+", exp):
        return base + exp.translate(_SUPER)
    return f"{base}^{_t_wrap(p.exp, exp)}"


def _t_func(f: Func) -> str:
    return f"{f.name}{'′' if f.prime else ''}({terminal(f.arg)})"


def _t_partial(p: Partial) -> str:
    return f"∂{terminal(p.num)}/∂{terminal(p.den)}"


_GAPS = {",": ", ", "quad": "  ", "": " ", "-": " − "}  # a relation's sign as the terminal spaces it


def _t_rel(r: Rel) -> str:
    text = "".join([(_GAPS.get(p) or f" {p} ") if type(p) is str else terminal(p) for p in r.parts])  # type: ignore[arg-type]
    if "  " not in text:
        return text.strip()
    return _SPACES.sub(lambda m: "  " if len(m.group()) >= 4 else " ", text).strip()


def _t_template(t: Template) -> str:
    return "".join(p if isinstance(p, str) else _t_factor(p) for p in template_pieces(t))


_TERMINAL: dict[type, Callable[[Any], str]] = {
    Sym: _t_sym,
    Word: lambda w: escape.terminal(w.text),
    Num: _t_num,
    Op: lambda o: o.sign,
    Add: _t_add,
    Mul: _t_mul,
    Frac: _t_frac,
    Pow: _t_pow,
    Sqrt: lambda s: f"√{_t_wrap(s.body, terminal(s.body))}",
    Func: _t_func,
    Paren: lambda p: f"({terminal(p.body)})",
    Partial: _t_partial,
    Via: lambda v: f"{terminal(v.body)} (via {terminal(v.label)})",
    Seq: lambda s: s.sep.join(terminal(i) for i in s.items),
    Rel: _t_rel,
    Note: lambda n: f"({escape.terminal(n.text)})",
    Bold: lambda b: terminal(b.body),
    Formula: lambda f: f.plain,
    Template: _t_template,
}
