"""The story's math (the LaTeX subset of doc.py) written as plain Unicode, for the terminal and screen readers.

∂L/∂w5 for \\frac{\\partial L}{\\partial w_{5}}, z_out for z_{\\text{out}}, ŷ for \\hat{y},
w5_new for w_{5}^{\\text{new}}, a_h1#2 for a batch example's a_{h1}^{(2)}. Only notation
is translated: every number arrives already written.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[{}_^&]|\s+|[^\\{}_^&\s]+")

_SYMBOLS = {
    r"\partial": "∂",
    r"\cdot": " · ",
    r"\approx": " ≈ ",
    r"\sum": "Σ",
    r"\prod": "Π",
    r"\delta": "δ",
    r"\sigma": "σ",
    r"\eta": "η",
    r"\theta": "θ",
    r"\alpha": "α",
    r"\lambda": "λ",
    r"\mu": "μ",  # the optimizers' constants (story_update.py)
    r"\beta": "β",
    r"\rho": "ρ",
    r"\varepsilon": "ε",
    r"\Phi": "Φ",
    r"\varphi": "φ",
    r"\phi": "φ",
    r"\le": " ≤ ",
    r"\ge": " ≥ ",
    r"\ne": " ≠ ",
    r"\rightarrow": " → ",
    r"\dots": "…",
    r"\ldots": "…",
    r"\infty": "∞",
    r"\quad": "  ",
    r"\qquad": "    ",
    r"\,": "·",
    r"\ ": " ",
    r"\;": " ",
    r"\\": "; ",
    r"\left": "",
    r"\right": "",
    r"\bigl": "",
    r"\bigr": "",
    r"\Bigl": "",
    r"\Bigr": "",
    r"\Big": "",
    r"\big": "",
    r"\displaystyle": "",
    # The matrix form (story_matrix.py)
    r"\Delta": "Δ",
    r"\ell": "ℓ",
    r"\odot": " ⊙ ",
    r"\oslash": " ⊘ ",
    r"\times": " × ",
    r"\top": "ᵀ",
    r"\cdots": "⋯",
    r"\vdots": "⋮",
    r"\ddots": "⋱",
}
_WORDS = {r"\log", r"\max", r"\min", r"\exp", r"\tanh", r"\erf"}
_STYLES = {r"\text", r"\mathit", r"\mathrm", r"\mathbf", r"\operatorname", r"\textbf"}
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def plain(tex: str) -> str:
    """A LaTeX formula of the story as one line of plain Unicode."""
    tokens = [t for t in _TOKEN.findall(tex)]
    out, _ = _run(tokens, 0)
    return re.sub(r" {2,}", " ", out.replace("∂ ", "∂")).strip()


def _run(tokens: list[str], i: int, stop: str = "") -> tuple[str, int]:
    """Convert tokens from i up to the closing `stop` token (or the end); the text and where it ended."""
    out = ""
    while i < len(tokens):
        tok = tokens[i]
        if tok == stop:
            return out, i + 1
        piece, i = _one(tokens, i)
        out += piece
    return out, i


def _group(tokens: list[str], i: int) -> tuple[str, int]:
    """One argument: a {...} group or a single token."""
    while i < len(tokens) and tokens[i].isspace():
        i += 1
    if i >= len(tokens):
        return "", i
    if tokens[i] == "{":
        return _run(tokens, i + 1, "}")
    if tokens[i].startswith("\\"):
        return _one(tokens, i)
    if len(tokens[i]) > 1:  # a bare argument is one character: the rest stays in place
        tokens.insert(i + 1, tokens[i][1:])
        tokens[i] = tokens[i][0]
    return tokens[i], i + 1


def _raw(tokens: list[str], i: int) -> tuple[str, int]:
    """A \\text{...} argument: words as they are, escapes undone."""
    depth, out = 0, ""
    i += 1  # the {
    while i < len(tokens):
        tok = tokens[i]
        if tok == "}" and depth == 0:
            return out, i + 1
        depth += (tok == "{") - (tok == "}")
        out += tok[1:] if tok.startswith("\\") and len(tok) == 2 else tok
        i += 1
    return out, i


def _one(tokens: list[str], i: int) -> tuple[str, int]:
    tok = tokens[i]
    if tok in _STYLES:
        if i + 1 < len(tokens) and tokens[i + 1] == "{":
            return _raw(tokens, i + 1)
        return "", i + 1
    if tok in (r"\frac", r"\tfrac", r"\dfrac"):
        a, i = _group(tokens, i + 1)
        b, i = _group(tokens, i)
        if (a, b) == ("1", "2"):
            return "½", i
        a, b = a.replace("∂ ", "∂").strip(), b.replace("∂ ", "∂").strip()
        if _simple(a) and _simple(b) and not a.startswith("∂"):
            return f"({a}/{b})", i  # (1/3)(…), not 1/3(…)
        return f"{_wrap(a)}/{_wrap(b)}", i
    if tok == r"\hat":
        a, i = _group(tokens, i + 1)
        return ("ŷ" if a == "y" else a + "\u0302"), i
    if tok == r"\sqrt":
        a, i = _group(tokens, i + 1)
        return f"√{_wrap(a)}", i
    if tok in (r"\begin", r"\end"):
        _, i = _group(tokens, i + 1)
        return ("{" if tok == r"\begin" else "}"), i
    if tok in (r"\{", r"\}", r"\_", r"\%", r"\&", r"\#", r"\$", r"\|"):
        return tok[1], i + 1
    if tok == r"\Big" and tokens[i + 1 : i + 3] == ["|", "_"]:  # evaluated along: ∂L/∂b1 (via h1)
        sub, i = _group(tokens, i + 3)
        return f" ({sub.strip()})", i
    if tok in _SYMBOLS:
        return _SYMBOLS[tok], i + 1
    if tok in _WORDS:
        return tok[1:], i + 1
    if tok == "_":
        sub, i = _group(tokens, i + 1)
        if sub.isdigit() or (len(sub) == 1 and sub.isalnum()) or re.fullmatch(r"[\w#]+", sub):
            return ("" if sub.isdigit() else "_") + sub, i
        return f"_({sub})", i
    if tok == "^":
        return _sup(tokens, i + 1)
    if tok == "&":
        return " if ", i + 1
    if tok in ("{", "}"):
        return "", i + 1
    if tok.startswith("\\"):
        return tok[1:], i + 1
    return tok.replace("-", "−").replace("'", "′"), i + 1


def _sup(tokens: list[str], i: int) -> tuple[str, int]:
    """A superscript: (k) is the batch example #k, ({l}) layer l as ⁽ˡ⁾, \\text{new} the name's _new, digits raised."""
    if tokens[i : i + 3] == ["{", "(", "{"] and tokens[i + 4 : i + 7] == ["}", ")", "}"] and tokens[i + 3].isdigit():
        return f"⁽{tokens[i + 3].translate(_SUPERSCRIPT)}⁾", i + 7
    is_text = i < len(tokens) and tokens[i] == "{" and i + 1 < len(tokens) and tokens[i + 1] == r"\text"
    sup, i = _group(tokens, i)
    if is_text:
        return f"_{sup}", i
    m = re.fullmatch(r"\((\d+)\)", sup)
    if m:
        return f"#{m.group(1)}", i
    if sup.isdigit():
        return sup.translate(_SUPERSCRIPT), i
    if sup in ("(k)", "(l)"):  # the matrix form's generic example and layer
        return "⁽ᵏ⁾" if sup == "(k)" else "⁽ˡ⁾", i
    if sup.strip() == "ᵀ":
        return "ᵀ", i
    return f"^{sup}" if len(sup.strip()) == 1 else f"^({sup.strip()})", i


def _wrap(text: str) -> str:
    """Parentheses around anything more than one name or number, so a slash or ^ binds as meant."""
    text = text.strip()
    if _simple(text) or (text.startswith("(") and text.endswith(")") and _closed(text)):
        return text
    if not re.search(r"[\s+−·/=]", _outside(text)):  # e^(−0.095): one term, its parentheses its own
        return text
    return f"({text})"


def _outside(text: str) -> str:
    """The characters of text outside every parenthesis."""
    out, depth = [], 0
    for c in text:
        depth += (c == "(") - (c == ")")
        if depth == 0 and c not in "()":
            out.append(c)
    return "".join(out)


def _simple(text: str) -> bool:
    """One name or number (∂L, w5, z_out, 0.5, a_h1#2)."""
    return re.fullmatch(r"∂?−?[\w.#′\u0302ŷ]+", text) is not None


def _closed(text: str) -> bool:
    """Whether the opening parenthesis of text closes only at its end."""
    depth = 0
    for j, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        if depth == 0 and j < len(text) - 1:
            return False
    return True
