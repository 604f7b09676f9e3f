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

_CHAR = re.compile(r"\S")
_SPACE = re.compile(r"\s")
_LAST_SPACE = re.compile(r".*\s", re.DOTALL)  # up to the last space of a span
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
    """`line` as the lines rich prints for it at `width` cells; None where rich must measure it.

    rich's rule, greedy over words (a word: its characters and the spaces after it; the first takes
    the line's leading spaces too): a word joins the line if its characters (not the spaces after
    it) fit in what is left, else it starts the next line; a word longer than a whole line is cut
    into pieces of the width. Every line starts where a word or a piece does and each word is as
    long as its span, so a word fits exactly where its characters end within `width` of the line's
    start: each line's end is found in one search, not word by word.
    """
    if width < 1 or not one_cell_wide(line):
        return None
    starts: list[int] = []  # where each line after the first begins
    end = len(line.rstrip())  # where the last word's characters end
    lead = len(line) - len(line.lstrip())  # the first word's leading spaces
    start = 0  # where the line being filled begins
    while end > start + width:
        limit = start + width  # the first cell past the line
        if line[limit].isspace():  # the word that does not fit is the next one
            found = _CHAR.search(line, limit)
            assert found is not None  # (a character lies past `limit`: end > limit)
            word = found.start()
        else:  # the word `limit` falls in
            spaces = _LAST_SPACE.match(line, start, limit)
            word = spaces.end() if spaces else start
        if word <= lead:
            word = 0  # the line's first word, with its leading spaces
        gap = _SPACE.search(line, word + (lead if word == 0 else 0))
        chars_end = gap.start() if gap else len(line)
        if chars_end - word <= width:  # it fits a line of its own: it starts the next one
            starts.append(word)
            start = word
            continue
        after = _CHAR.search(line, chars_end)  # longer than a line: cut into pieces of the width
        word_end = after.start() if after else len(line)
        offsets = range(0, word_end - word, width)
        starts += [word + offset for offset in offsets if word + offset]
        start = word + offsets[-1]
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
