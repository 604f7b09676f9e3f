"""Plain Unicode equations (as `chainrule explain` prints them) written as MathML for the page.

Only notation is translated here: ``∂L/∂w5`` becomes a fraction, ``z_h1`` a subscript, numbers
``<mn>``. No number is computed; every one arrives already formatted by views.numbers.fmt.
"""

from __future__ import annotations

import re
from html import escape

_TOKEN = re.compile(
    r"(?P<partial>∂(?P<num>[^\s/·()∂]+)/∂(?P<den>[^\s·()∂,]+))"
    r"|(?P<number>−?\d+(?:\.\d+)?(?:e−?\d+)?)"
    r"|(?P<name>[A-Za-zŷθηαλδσΣΦφ][\w#ŷ]*)"
    r"|(?P<space>\s+)"
    r"|(?P<op>.)"
)
_WORDS = {"log", "max", "if", "else", "exp", "tanh", "softmax", "ReLU", "via"}


_INDEXED = re.compile(r"^([A-Za-zθα])(\d+)$")  # w5, x1, b2: a letter and its index


def _name(text: str) -> str:
    """z_h1 → z with subscript h1; w5 → w with subscript 5; w5_new → w₅ with superscript new."""
    if text in _WORDS:
        return f"<mi mathvariant='normal'>{escape(text)}</mi>"
    base, sep, sub = text.partition("_")
    indexed = _INDEXED.match(base)
    if indexed:
        letter, index = f"<mi>{indexed[1]}</mi>", f"<mn>{indexed[2]}</mn>"
        if sep and sub:
            return f"<msubsup>{letter}{index}<mi mathvariant='normal'>{escape(sub)}</mi></msubsup>"
        return f"<msub>{letter}{index}</msub>"
    base_ml = f"<mi>{escape(base)}</mi>" if len(base) == 1 else f"<mi mathvariant='normal'>{escape(base)}</mi>"
    if not sep or not sub:
        return base_ml
    return f"<msub>{base_ml}<mi mathvariant='normal'>{escape(sub)}</mi></msub>"


def _partial(num: str, den: str) -> str:
    return f"<mfrac><mrow><mo>∂</mo>{_name(num)}</mrow><mrow><mo>∂</mo>{_name(den)}</mrow></mfrac>"


def row(text: str) -> str:
    """One plain equation as the inner MathML of an <mrow>."""
    parts: list[str] = []
    for m in _TOKEN.finditer(text):
        if m.group("partial"):
            parts.append(_partial(m.group("num"), m.group("den")))
        elif m.group("number"):
            parts.append(f"<mn>{escape(m.group('number'))}</mn>")
        elif m.group("name"):
            parts.append(_name(m.group("name")))
        elif m.group("op"):
            parts.append(f"<mo>{escape(m.group('op'))}</mo>")
    return "".join(parts)


def equation(text: str) -> dict[str, str]:
    """A line of the explanation: its MathML, and the words after it ("(z_out contains a_h1·w5)").

    The plain text is kept too, for screen readers and for the downloaded document.
    """
    text = text.strip()
    math, note = text, ""
    cut = text.find("  (")
    if cut > 0 and text.rstrip().endswith(")"):
        math, note = text[:cut], text[cut + 3 : -1]
    if "  — " in math:
        math, _, note = math.partition("  — ")
    if math.startswith("step by step: "):
        math, note = math.removeprefix("step by step: "), "step by step, left to right"
    ml = f"<math display='block'><mrow>{row(math.strip())}</mrow></math>"
    return {"mathml": ml, "note": note.strip(), "plain": text.strip()}
