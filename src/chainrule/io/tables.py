"""Tables of named columns: CSV and TSV files (and Parquet's columns, through `assemble`).

A numeric file is parsed by NumPy's C reader in one go; any file it refuses (a category column,
an empty or bad cell, a quoted field) is read again cell by cell with the `csv` module, which is
what names the row and column of a bad cell. The fast reading is only a shortcut to the same
answer: both give the same header and the same numbers.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence

import numpy as np

from chainrule.engine import limits
from chainrule.errors import ChainruleError, describe, one_line, shown_path
from chainrule.io.sources import read_bytes

Array = np.ndarray
Column = Array | list[str]  # numbers, or category names when no cell of the column is a number


def _text(path: str | os.PathLike[str], what: str, data: bytes | None = None) -> str:
    data = read_bytes(path, what) if data is None else data
    try:
        return data.decode("utf-8-sig")  # a byte-order mark (spreadsheets write one) is not a name
    except UnicodeDecodeError as exc:
        raise ChainruleError(
            f"{shown_path(path)}: expected {what} in UTF-8, got a byte that is not UTF-8 at {exc.start}"
        ) from None


def delimiter_for(path: str | os.PathLike[str]) -> str:
    """A tab for .tsv/.tab files, else a comma."""
    return "\t" if str(path).lower().endswith((".tsv", ".tab")) else ","


def read_csv(path: str | os.PathLike[str], delimiter: str | None = None) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a CSV (or TSV) file, every row as wide as the header, cells stripped."""
    src, sep = shown_path(path), delimiter or delimiter_for(path)
    return _rows(src, _text(path, "a CSV file"), sep)


def _rows(src: str, text: str, sep: str) -> tuple[list[str], list[list[str]]]:
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=sep) if row]
    except csv.Error as exc:
        raise ChainruleError(f"{src}: expected a CSV file ({exc})") from None
    if len(rows) < 2:
        raise ChainruleError(f"{src}: expected a header row and at least one row of data")
    limits.EXAMPLES.check(len(rows) - 1, f"{src}: rows")
    header = [h.strip() for h in rows[0]]
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ChainruleError(f"{src}: row {i}: expected {len(header)} values (as the header), got {len(row)}")
    return header, [[c.strip() for c in row] for row in rows[1:]]


def _numeric(text: str, sep: str) -> tuple[list[str], Array] | None:
    """Header and numbers of a file whose every cell is a finite number, parsed by NumPy; None when
    any cell is not (a quoted one included: NumPy reads no quotes), and the caller then reads it
    cell by cell to say which."""
    end = text.find("\n")
    if end < 0 or not text[end:].strip():
        return None
    header = next(csv.reader([text[:end].rstrip("\r")], delimiter=sep))
    try:
        values = np.loadtxt(io.StringIO(text), delimiter=sep, dtype=np.float64, ndmin=2, comments=None, skiprows=1)
    except ValueError:
        return None
    if values.shape[1] != len(header) or not np.isfinite(values).all():
        return None
    return [h.strip() for h in header], values


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def column_of(src: str, header: list[str], cells: list[str], j: int) -> Column:
    """A column as numbers, or as category names when no cell of it is a number."""
    for i, cell in enumerate(cells):
        if cell == "":
            raise ChainruleError(
                f"{src}: row {i + 2}, column {describe(header[j])}: expected a value, got an empty cell"
            )
    numbers = [_float(c) for c in cells]
    if all(v is None for v in numbers):
        return cells
    for i, v in enumerate(numbers):
        if v is None:
            raise ChainruleError(
                f"{src}: row {i + 2}, column {describe(header[j])}: expected a number, got {describe(cells[i])}"
            )
    return np.array(numbers, dtype=np.float64)


def read_columns(path: str | os.PathLike[str], data: bytes | None = None) -> tuple[list[str], list[Column]]:
    """Every column of a CSV/TSV file (or stdin; `data`: its bytes, already read), numeric ones fast."""
    header, columns, _ = read_table(path, data)
    return header, columns


def read_table(path: str | os.PathLike[str], data: bytes | None = None) -> tuple[list[str], list[Column], Array | None]:
    """`read_columns`, and the whole table as one matrix when every cell is a number (else None)."""
    src, sep = shown_path(path), delimiter_for(path)
    text = _text(path, "a CSV file", data)
    limits.EXAMPLES.check(text.count("\n") - 1, f"{src}: rows")  # before any parsing allocates
    fast = _numeric(text, sep)
    if fast is not None:
        header, values = fast
        return header, list(values.T), values
    header, rows = _rows(src, text, sep)
    return header, [column_of(src, header, [row[j] for row in rows], j) for j in range(len(header))], None


def listed(names: Sequence[str], most: int = 12) -> str:
    """Column names for a message: the first few, each on the same line."""
    shown = [one_line(n) for n in names[:most]]
    return ", ".join(shown) + (f", … ({len(names)} in all)" if len(names) > most else "")


__all__ = ["Column", "column_of", "delimiter_for", "listed", "read_columns", "read_csv", "read_table"]
