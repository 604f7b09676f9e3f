"""Text from a user (names, titles, paths) made safe for each output format: one rule per format.

A name is data, never markup: whatever it holds, each format shows its characters and nothing
else. LaTeX: no command, group or math shift from a name reaches the document, and every
character is one that pdflatex shows with its base fonts (OT1, inputenc utf8) or a visible
`U+XXXX`. Markdown: no raw HTML, no emphasis, link or math from a name. HTML: escaped text and
nothing in an attribute. Terminal: no control character or escape sequence reaches the screen.
"""

from __future__ import annotations

import html as _html
import re
import unicodedata

# -- what no format may pass on as it is: control characters, shown visibly ----------------------

_BIDI = frozenset(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C])


def _hidden(c: str) -> bool:
    """A character that moves the cursor, starts an escape sequence or reorders the text around it."""
    return unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") or c in _BIDI


def visible(c: str) -> str:
    """A control character as a picture of itself: ␛ for ESC, ␊ for a newline, \\x9b or \\u202e beyond."""
    code = ord(c)
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "␡"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal(s: str) -> str:
    """A name for the terminal: every control character, escape sequence and bidi override shown visibly."""
    if s.isprintable():  # holds none of them (each is in category C or Z, which isprintable refuses): most text
        return s
    return "".join(visible(c) if _hidden(c) else c for c in s)


# -- LaTeX ---------------------------------------------------------------------------------------


def _tt(code: int) -> str:
    """An ASCII character the OT1 text font lacks, taken from the typewriter font, which has them all."""
    return rf"\texttt{{\char{code}}}"


_LATEX_ASCII = {
    "#": r"\#",
    "$": _tt(36),  # OT1 has no dollar: LaTeX would take it from a bitmap TS1 font
    "%": r"\%",
    "&": r"\&",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "\\": r"\textbackslash{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "~": _tt(126),
    "^": _tt(94),
    '"': _tt(34),
}

_GREEK_LOWER = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho"
_GREEK_LOWER += " varsigma sigma tau upsilon phi chi psi omega"
_GREEK = {chr(0x3B1 + i): rf"$\{n}$" for i, n in enumerate(_GREEK_LOWER.split()) if n != "omicron"}
_GREEK_UPPER = dict(
    zip(
        "ΓΔΘΛΞΠΣΥΦΨΩ",
        ["Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"],
        strict=True,
    )
)
_GREEK.update({c: rf"$\{n}$" for c, n in _GREEK_UPPER.items()})

# The signs the documents' own prose uses, and letters of Latin alphabets that OT1 has whole.
_LATEX_SIGNS = {
    "−": "$-$",
    "→": r"$\rightarrow$",
    "∂": r"$\partial$",
    "≈": r"$\approx$",
    "·": r"$\cdot$",
    "×": r"$\times$",
    "≤": r"$\le$",
    "≥": r"$\ge$",
    "∞": r"$\infty$",
    "Σ": r"$\Sigma$",
    "½": r"$\frac{1}{2}$",
    "²": r"$^{2}$",
    "ŷ": r"$\hat{y}$",
    "ᵢ": "$_i$",
    "ⱼ": "$_j$",
    "≠": r"$\neq$",
    "±": r"$\pm$",
    "′": "$'$",
    "“": "``",
    "”": "''",
    "‘": "`",
    "’": "'",
    "—": "---",
    "–": "--",
    "…": r"\ldots{}",
    "ß": r"\ss{}",
    "æ": r"\ae{}",
    "Æ": r"\AE{}",
    "œ": r"\oe{}",
    "Œ": r"\OE{}",
    "ø": r"\o{}",
    "Ø": r"\O{}",
    "ł": r"\l{}",
    "Ł": r"\L{}",
    "ı": r"\i{}",
    "ȷ": r"\j{}",
}

# Combining marks that the OT1 accent commands draw over a Latin letter.
_ACCENTS = {
    "\u0300": "`",
    "\u0301": "'",
    "\u0302": "^",
    "\u0303": "~",
    "\u0304": "=",
    "\u0306": "u",
    "\u0307": ".",
    "\u0308": '"',
    "\u030a": "r",
    "\u030b": "H",
    "\u030c": "v",
    "\u0327": "c",
}

_LATEX_CHARS = {**_LATEX_ASCII, **_GREEK, **_LATEX_SIGNS}


def _latex_char(c: str) -> str:
    if c in _LATEX_CHARS:
        return _LATEX_CHARS[c]
    if " " <= c <= "~":
        return c
    base, *marks = list(unicodedata.normalize("NFD", c))
    if len(marks) == 1 and marks[0] in _ACCENTS and base.isascii() and base.isalpha():
        letter = {"i": r"\i", "j": r"\j"}.get(base, base) if marks[0] not in ("\u0327",) else base
        return rf"\{_ACCENTS[marks[0]]}{{{letter}}}"
    return rf"\texttt{{U+{ord(c):04X}}}"


# Pairs TeX's fonts join into one glyph (`` is “, -- is –, ?` is ¿): an empty group between them
# keeps a name's two characters two.
_LIGATURES = frozenset({"``", "''", "--", ",,", "!`", "?`"})


def latex(s: str) -> str:
    """Words for LaTeX text, or inside math's \\text{}: every special character a literal glyph.

    The ten specials (# $ % & ~ _ ^ \\ { }) and < > | " print as themselves; Greek letters as
    math; accented Latin letters by accent commands; any other character as U+XXXX; no two
    characters join into a ligature.
    """
    out = [_latex_char(c) + ("{}" if s[i : i + 2] in _LIGATURES else "") for i, c in enumerate(s)]
    return "".join(out)


_DECODE = {tex: c for c, tex in _LATEX_CHARS.items()}
_DECODE_RE = re.compile(
    r"\\texttt\{\\char(\d+)\}|\\texttt\{U\+([0-9A-F]{4,6})\}"
    r"|\\([`'^~=u.\"rHvc])\{(\\[ij]|[A-Za-z])\}"
    r"|(?<=[`'!?,\-])\{\}(?=[`',\-])"
    + "|"
    + "|".join(re.escape(t) for t in sorted(_DECODE, key=len, reverse=True) if len(t) > 1)
)
_MARKS = {v: k for k, v in _ACCENTS.items()}


def _decode_one(m: re.Match[str]) -> str:
    if m.group(1):
        return chr(int(m.group(1)))
    if m.group(2):
        return chr(int(m.group(2), 16))
    if m.group(0) == "{}":  # the break between two characters of a ligature
        return ""
    if m.group(3):
        base = m.group(4).lstrip("\\")
        return unicodedata.normalize("NFC", base + _MARKS[m.group(3)])
    return _DECODE[m.group(0)]


def latex_decode(tex: str) -> str:
    """The words that `latex` escaped, back as they were (for views that show them another way)."""
    return _DECODE_RE.sub(_decode_one, tex)


def latex_path(path: str) -> str:
    """A file path for LaTeX text, free to break after every / so that it never runs into the margin."""
    return r"\slash{}".join(latex(part) for part in path.split("/"))


# -- Markdown ------------------------------------------------------------------------------------

# & only where it could start an entity (&lt; &#60;): "R & D" stays as it is written.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>$|~#]|&(?=[#A-Za-z0-9]))")


def markdown(s: str) -> str:
    """Words for Markdown text, headings and table cells: every markup character backslash-escaped.

    CommonMark reads a backslash before any ASCII punctuation as that character itself, so no
    name can open raw HTML (<), an entity (&), emphasis, a link, a table cell (|) or math ($).
    Control characters are shown visibly (a newline would end a heading or a table row).
    """
    text = "".join(visible(c) if _hidden(c) else c for c in s)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def markdown_line_start(text: str) -> str:
    """Escaped words that begin a paragraph: a leading + - = or 1. cannot make it a list or a rule."""
    return re.sub(r"^(?:([+\-=])|(\d{1,9})(?=[.)](?:\s|$)))", lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\", text)


# -- HTML ----------------------------------------------------------------------------------------


def html(s: str) -> str:
    """Words for HTML text or a quoted attribute: & < > " ' escaped, control characters shown visibly."""
    return _html.escape("".join(visible(c) if _hidden(c) else c for c in s), quote=True)


# -- CSV -----------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(s: str) -> str:
    """Text from a user for a CSV cell: a spreadsheet never reads it as a formula (OWASP's rule).

    A cell that starts with = + - @ (or a tab or carriage return) gets a leading apostrophe, which
    Excel, LibreOffice and Google Sheets show as text. Numbers are not text from a user: write them
    as numbers (with an ASCII minus), not through this rule.
    """
    return "'" + s if s.startswith(_FORMULA_START) else s
