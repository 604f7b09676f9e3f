"""The batch of an update, in one place: the `--batch` grammar ("online", "full" or a size) and the
rule for how many examples each update takes.

Every reader of a batch from text (`train --batch`, `exercise --batch`, the page's form) parses it
here, so that ``--batch ²`` (a Unicode digit: ``str.isdigit`` is true, ``int`` fails) or ``--batch 0``
gets the same one line everywhere; and the engine's epochs, the trainer and the page cut a data set
into updates by the same `batch_size`.
"""

from __future__ import annotations

from typing import Literal

from chainrule.errors import ChainruleError

Batch = Literal["online", "full"] | int
WORDS: tuple[Literal["online", "full"], ...] = ("online", "full")
EXPECTED = '"online", "full" or a batch size ≥ 1'
_MOST_DIGITS = 18  # a size beyond any data set, still far from the size where int() refuses the text


def parse_batch(text: str, option: str = "--batch") -> Batch:
    """A batch from a command line: "online", "full" or a whole number ≥ 1 in ASCII digits."""
    word = text.strip()
    for known in WORDS:
        if word == known:
            return known
    digits = word.lstrip("0")
    if word.isascii() and word.isdigit() and digits and len(digits) <= _MOST_DIGITS:
        return int(digits)
    raise ChainruleError(f"{option}: expected {EXPECTED}, got {text!r}")


def batch_size(batch: Batch, examples: int) -> int:
    """How many examples one update takes: 1 online, all of them full, else the size (at most all)."""
    if batch == "online":
        return 1
    if batch == "full":
        return examples
    return min(int(batch), examples)
