"""The columns of a table as chainrule holds them: numbers (float64), or categories (text).

The rules every table reader shares live here: what counts as a number in a cell, how text
becomes categories (counted against the limit before anything is encoded), and that each column
name appears once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chainrule.engine import limits
from chainrule.errors import ChainruleError, describe

Array = np.ndarray


@dataclass(frozen=True)
class Categories:
    """A text column: its different values (sorted) and, per row, the index of the row's value."""

    names: list[str]
    codes: Array  # (rows,) int64

    def __len__(self) -> int:
        return len(self.codes)


Column = Array | Categories  # numbers, or categories when no cell of the column is a number


def categories(src: str, name: str, cells: Sequence[str]) -> Categories:
    """The cells as categories, their count checked against the limit before anything is encoded."""
    distinct = set(cells)
    check_categories(src, name, len(distinct))
    names = sorted(distinct)
    index = {c: i for i, c in enumerate(names)}
    return Categories(names, np.fromiter((index[c] for c in cells), np.int64, len(cells)))


def check_categories(src: str, name: str, count: int) -> None:
    expected = limits.CATEGORIES.exceeded(count)
    if expected is not None:
        raise ChainruleError(f"{src}: column {describe(name)}: expected {expected}, got {count:,}")


def check_header(src: str, header: Sequence[str]) -> None:
    """Every column named once: a second `x` would silently shadow the first."""
    seen: dict[str, int] = {}
    for j, name in enumerate(header, start=1):
        if name in seen:
            raise ChainruleError(
                f"{src}: column {describe(name)}: expected each column name once, got it as columns {seen[name]} and {j}"
            )
        seen[name] = j


def number(text: str) -> float | None:
    """The cell as a finite number (as Python's float reads it, spaces around allowed), else None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


__all__ = ["Categories", "Column", "categories", "check_categories", "check_header", "number"]
