"""Tables of named columns: CSV and TSV files (and Parquet's columns, through `assemble`).

Three readers give the same answer, the first that can: pyarrow's CSV reader when pyarrow is
installed (`io.arrowtables`), NumPy's C reader for a file of plain numbers, and the `csv` module
cell by cell. The last is the rule: it reads any line ends (LF, CRLF, CR alone) and quoted cells
(newlines included), and it is what names the row and column of a bad cell, so the fast readers
hand any file they would read differently to it rather than say anything themselves.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence

import numpy as np

from chainrule.engine import limits
from chainrule.errors import ChainruleError, describe, one_line, shown_path
from chainrule.io.columns import Categories, Column, categories, check_header, number
from chainrule.io.sources import read_bytes

Array = np.ndarray
DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "space": " ", "pipe": "|"}


def _text(path: str | os.PathLike[str], what: str, data: bytes | None = None) -> str:
    data = read_bytes(path, what) if data is None else data
    try:
        return data.decode("utf-8-sig")  # a byte-order mark (spreadsheets write one) is not a name
    except UnicodeDecodeError as exc:
        raise ChainruleError(
            f"{shown_path(path)}: expected {what} in UTF-8, got a byte that is not UTF-8 at {exc.start}"
        ) from None


def delimiter_for(path: str | os.PathLike[str], given: str | None = None) -> str:
    """--delimiter (one character, or a name: tab, comma, semicolon, space, pipe); else a tab for
    .tsv/.tab files (gzipped too) and a comma for the rest."""
    if given is None:
        name = str(path).lower().removesuffix(".gz")
        return "\t" if name.endswith((".tsv", ".tab")) else ","
    sep = DELIMITERS.get(given.lower(), given)
    if len(sep) != 1 or sep in '"\r\n' or not (sep.isprintable() or sep == "\t"):
        raise ChainruleError(
            f"--delimiter: expected one character other than a quote or a line break (or tab), got {describe(given)}"
        )
    return sep


def read_csv(path: str | os.PathLike[str], delimiter: str | None = None) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a CSV (or TSV) file, every row as wide as the header, cells stripped."""
    src, sep = shown_path(path), delimiter_for(path, delimiter)
    return _rows(src, _text(path, "a CSV file"), sep)


def _rows(src: str, text: str, sep: str) -> tuple[list[str], list[list[str]]]:
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=sep) if row]
    except csv.Error as exc:
        raise ChainruleError(f"{src}: expected a CSV file ({one_line(str(exc))})") from None
    if len(rows) < 2:
        raise ChainruleError(f"{src}: expected a header row and at least one example (a row of data)")
    limits.EXAMPLES.check(len(rows) - 1, f"{src}: rows")
    header = [h.strip() for h in rows[0]]
    check_header(src, header)
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ChainruleError(f"{src}: row {i}: expected {len(header)} values (as the header), got {len(row)}")
    return header, [[c.strip() for c in row] for row in rows[1:]]


def _numeric(text: str, sep: str) -> tuple[list[str], Array] | None:
    """Header and numbers of a file whose every cell is a finite number, parsed by NumPy; None when
    any cell is not, or when NumPy would read the file differently from the `csv` module: quotes
    (NumPy reads none) and line ends of a lone CR (NumPy sees one line). The caller then reads it
    cell by cell."""
    if '"' in text or text.count("\r") != text.count("\r\n") or text.startswith(("\n", "\r")):
        return None
    end = text.find("\n")
    if end < 0 or not text[end:].strip():
        return None
    header = [h.strip() for h in text[:end].rstrip("\r").split(sep)]  # no quotes: the csv module's split
    try:
        values = np.loadtxt(io.StringIO(text), delimiter=sep, dtype=np.float64, ndmin=2, comments=None, skiprows=1)
    except ValueError:
        return None
    if values.shape[1] != len(header) or not np.isfinite(values).all():
        return None
    return header, values


def column_of(src: str, header: list[str], cells: list[str], j: int) -> Column:
    """A column as numbers, or as categories when no cell of it is a number."""
    for i, cell in enumerate(cells):
        if cell == "":
            raise ChainruleError(
                f"{src}: row {i + 2}, column {describe(header[j])}: expected a value, got an empty cell"
            )
    numbers = [number(c) for c in cells]
    if all(v is None for v in numbers):
        return categories(src, header[j], cells)
    for i, v in enumerate(numbers):
        if v is None:
            raise ChainruleError(
                f"{src}: row {i + 2}, column {describe(header[j])}: expected a number, got {describe(cells[i])}"
            )
    return np.array(numbers, dtype=np.float64)


def read_columns(
    path: str | os.PathLike[str], data: bytes | None = None, delimiter: str | None = None
) -> tuple[list[str], list[Column]]:
    """Every column of a CSV/TSV file (or stdin; `data`: its bytes, already read)."""
    header, columns, _ = read_table(path, data, delimiter)
    return header, columns


def read_table(
    path: str | os.PathLike[str], data: bytes | None = None, delimiter: str | None = None
) -> tuple[list[str], list[Column], Array | None]:
    """`read_columns`, and the whole table as one matrix when every cell is a number (else None)."""
    src, sep = shown_path(path), delimiter_for(path, delimiter)
    data = read_bytes(path, "a CSV file") if data is None else data
    from chainrule.io import arrowtables  # (pyarrow's table is no bigger than the file: rows checked after)

    fast = arrowtables.read_csv(src, data, sep)
    if fast is not None:
        limits.EXAMPLES.check(len(fast[1][0]), f"{src}: rows")
        return fast
    limits.EXAMPLES.check(max(data.count(b"\n"), data.count(b"\r")) - 1, f"{src}: rows")  # before Python's lists
    text = _text(path, "a CSV file", data)
    numeric = _numeric(text, sep)
    if numeric is not None:
        header, values = numeric
        check_header(src, header)
        limits.CELLS.check(values.size, f"{src}: cells")
        return header, list(values.T), values
    header, rows = _rows(src, text, sep)
    limits.CELLS.check(len(rows) * len(header), f"{src}: cells")
    return header, [column_of(src, header, [row[j] for row in rows], j) for j in range(len(header))], None


def listed(names: Sequence[str], most: int = 12) -> str:
    """Column names for a message: the first few, each on the same line."""
    shown = [one_line(n) for n in names[:most]]
    return ", ".join(shown) + (f", … ({len(names)} in all)" if len(names) > most else "")


__all__ = [
    "Categories",
    "Column",
    "categories",
    "check_header",
    "column_of",
    "delimiter_for",
    "listed",
    "read_columns",
    "read_csv",
    "read_table",
]
