"""A line too long for the terminal, broken where rich would break it, without measuring each character.

rich measures a line cell by cell through its Unicode tables unless every character is Latin; the
story's lines are not (⁽¹⁾, ∂, −, ≈), and that measuring was most of what `explain --steps 100`
spent printing to a terminal. Each of those characters is one cell wide, so a line made only of
one-cell characters is as wide as it is long, and is broken here word by word: the same greedy rule
as rich.text.Text.wrap (tests/test_wrap.py compares the two on generated lines). Any other line
(a wide or combining character, a tab) is left to rich.
"""

from __future__ import annotations

import re
from functools import cache
from itertools import pairwise

_WORD = re.compile(r"\s*\S+\s*")  # a word with the spaces before and after it, as rich splits a line
_TRAILING = re.compile(r"\s+$")

# Where the characters a story writes live: Latin, Greek, phonetic and modifier letters, general
# punctuation, super- and subscripts, letterlike symbols, arrows, mathematical operators and box
# drawing. Only the ones rich itself counts one cell wide are kept.
_RANGES = [(0x20, 0x7E), (0xA0, 0x3FF), (0x1D00, 0x1DBF), (0x2000, 0x22FF), (0x2500, 0x257F)]


@cache
def _one_cell() -> frozenset[str]:
    from rich.cells import get_character_cell_size

    chars = (chr(c) for lo, hi in _RANGES for c in range(lo, hi + 1))
    return frozenset(c for c in chars if get_character_cell_size(c) == 1)


def one_cell_wide(line: str) -> bool:
    """Whether every character of `line` takes one terminal cell (as rich counts cells)."""
    return _one_cell().issuperset(line)


def wrapped(line: str, width: int) -> list[str] | None:
    """`line` as the lines rich prints for it at `width` cells; None where rich must measure it."""
    if width < 1 or not one_cell_wide(line):
        return None
    starts: list[int] = []  # where each line after the first begins
    used = 0  # cells taken on the line being filled
    for match in _WORD.finditer(line):
        start, word = match.start(), match.group()
        needed = len(word.rstrip())  # the spaces after a word may hang past the edge
        if needed <= width - used:
            used += len(word)
        elif needed > width:  # longer than any line: cut into pieces of the width
            for offset in range(0, len(word), width):
                if start + offset:
                    starts.append(start + offset)
            used = len(word) - offset
        elif used and start:
            starts.append(start)
            used = len(word)
    bounds = [0, *starts, len(line)]
    return [_fitted(line[a:b], width) for a, b in pairwise(bounds)]


def _fitted(piece: str, width: int) -> str:
    """A piece cut to `width`: first the spaces that hang past the edge, then (if need be) characters."""
    excess = len(piece) - width
    if excess > 0:
        spaces = _TRAILING.search(piece)
        if spaces is not None:
            piece = piece[: len(piece) - min(len(spaces.group()), excess)]
    return piece[:width]
