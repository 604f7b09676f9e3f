"""Tables read by pyarrow (an optional extra, imported here only): CSV/TSV files and Parquet files.

CSV: pyarrow's reader is many times faster than the `csv` module, but it is a shortcut, not a
second rule. It answers only when its reading is the `csv` module's: every column of finite
numbers, or of text in which no cell is a number or empty. Any other file (a bad cell, a ragged
row, a NUL, a quoted header) gets None, and `io.tables` reads it cell by cell, which is what names
the row and column at fault.

Parquet: the schema is checked before any data is read (the column count, the types, rows ×
columns), so a small file that declares a huge table is refused at once; pandas' index column
is dropped and its `category` columns are read as categories.
"""

from __future__ import annotations

import csv
import json
from typing import Any

import numpy as np

from chainrule.engine import limits
from chainrule.errors import ChainruleError, describe, shown_path
from chainrule.io.columns import Categories, Column, check_categories, check_header, number
from chainrule.io.sources import complaint

Array = np.ndarray


def read_csv(src: str, data: bytes, sep: str) -> tuple[list[str], list[Column], Array | None] | None:
    """(header, columns, the matrix when all are numbers) as the `csv` module would read them, or
    None: pyarrow is not installed, or the file needs reading cell by cell."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    header = None if b"\0" in data else _first_row(data, sep)  # (the csv module refuses a NUL)
    if header is None:
        return None
    check_header(src, header)
    read = pacsv.ReadOptions(autogenerate_column_names=True, skip_rows=1)  # columns f0, f1, … by position
    parse = pacsv.ParseOptions(delimiter=sep, newlines_in_values=b'"' in data)

    def table(kinds: list[Any]) -> Any:
        types = {f"f{j}": kind for j, kind in enumerate(kinds)}
        convert = pacsv.ConvertOptions(column_types=types, strings_can_be_null=False)
        try:
            found = pacsv.read_csv(pa.BufferReader(data), read, parse, convert)
        except pa.ArrowInvalid:
            return None
        return found if found.num_columns == len(header) and found.num_rows else None

    # One pass in the usual case: each column read as the first row suggests (a number: float64,
    # else text); a column that does not keep to it sends the file to a second pass, all as text.
    guess = _first_data_row(data, sep, len(header))
    kinds = (
        [pa.float64() if number(c) is not None else pa.string() for c in guess]
        if guess
        else [pa.float64()] * len(header)
    )
    found = table(kinds)
    if found is not None and all(k == pa.float64() for k in kinds):
        limits.CELLS.check(found.num_rows * len(header), f"{src}: cells")
        matrix = _matrix(found)
        if matrix is not None:
            return header, list(matrix.T), matrix
        found = None
    found = found if found is not None else table([pa.string()] * len(header))
    if found is None:
        return None
    limits.CELLS.check(found.num_rows * len(header), f"{src}: cells")
    columns = [_column(src, name, col) for name, col in zip(header, found.columns, strict=True)]
    return None if any(c is None for c in columns) else (header, columns, None)  # type: ignore[return-value]


def _first_data_row(data: bytes, sep: str, width: int) -> list[str] | None:
    """The cells of the line after the header, when it is plain (no quote) and as wide as the header."""
    lines = data[:4096].replace(b"\r", b"\n").split(b"\n")
    row = next((line for line in lines[1:-1] if line), None)
    if row is None or b'"' in row:
        return None
    cells = row.decode("utf-8", "replace").split(sep)
    return cells if len(cells) == width else None


def _first_row(data: bytes, sep: str) -> list[str] | None:
    """The header as the `csv` module reads it, when it is the first line (else None: a quoted
    name holding a line break, or a blank first line)."""
    ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    first = data[: min(ends)] if ends else b""
    if not first.removeprefix(b"\xef\xbb\xbf") or first.count(b'"') % 2:
        return None
    try:
        return [h.strip() for h in next(csv.reader([first.decode("utf-8-sig")], delimiter=sep))]
    except (UnicodeDecodeError, csv.Error):  # the careful reader says what is wrong
        return None


def _matrix(table: Any) -> Array | None:
    """The columns as one float64 matrix; None when a cell is empty, NaN or infinite."""
    out = np.empty((table.num_rows, table.num_columns))
    for j, col in enumerate(table.columns):
        if col.null_count:
            return None
        at = 0
        for chunk in col.chunks:
            out[at : at + len(chunk), j] = chunk.to_numpy(zero_copy_only=False)
            at += len(chunk)
    return out if np.isfinite(out).all() else None


def _column(src: str, name: str, col: Any) -> Column | None:
    """A column read as float64 or as text: numbers when every cell is one (as Python reads them),
    categories when none is; None otherwise (an empty cell, a NaN, a mix)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if col.type == pa.float64():
        values = None if col.null_count else col.to_numpy()
    else:
        try:
            values = pc.cast(col, pa.float64()).to_numpy()
        except pa.ArrowInvalid:
            return _categories(src, name, col, strict=True)
    return values if values is not None and np.isfinite(values).all() else None


def _categories(src: str, name: str, col: Any, strict: bool) -> Categories | None:
    """Text cells as categories, their different values counted before anything is encoded.
    `strict` (CSV): cells stripped as the `csv` reader strips them, and None when one is empty
    or a number."""
    import pyarrow.compute as pc

    whole = col.combine_chunks()
    encoded = (pc.utf8_trim_whitespace(whole) if strict else whole).dictionary_encode()
    check_categories(src, name, len(encoded.dictionary))
    raw = [str(v) for v in encoded.dictionary.to_pylist()]
    cells = [v.strip() for v in raw] if strict else raw
    if strict and any(c == "" or number(c) is not None for c in cells):
        return None
    names = sorted(set(cells))
    index = {c: i for i, c in enumerate(names)}
    lookup = np.array([index[c] for c in cells], np.int64)  # a stripped value may merge two raw ones
    return Categories(names, lookup[encoded.indices.to_numpy(zero_copy_only=False)])


def read_parquet(spec: str, data: bytes) -> tuple[list[str], list[Column]]:
    """A Parquet table's columns by name: numbers as float64, text and categories as categories."""
    src = shown_path(spec)
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ChainruleError(
            f"{src}: reading Parquet needs pyarrow; install it with pip install 'chainrule[parquet]'"
        ) from None
    try:
        footer = pq.read_metadata(pa.BufferReader(data))  # the counts, before pyarrow builds a schema of them
        _check_counts(src, footer.num_rows, footer.num_columns)
        handle = pq.ParquetFile(pa.BufferReader(data), metadata=footer)
        schema = handle.schema_arrow
        names = [n for n in schema.names if n not in _pandas_index(schema)]
        _check_schema(src, schema, names, footer.num_rows)
        table = handle.read(columns=names)
        return names, [_parquet_column(src, name, col) for name, col in zip(names, table.columns, strict=True)]
    except ChainruleError:
        raise
    except (pa.ArrowException, OSError, *_DAMAGED) as exc:  # a damaged footer or page, in pyarrow's words
        raise ChainruleError(f"{src}: expected a Parquet file, got a damaged one ({complaint(exc)})") from None


# Besides its own exceptions, pyarrow lets Python's out when a damaged footer holds names that are
# not UTF-8 (UnicodeDecodeError) or sizes that do not fit.
_DAMAGED = (ValueError, KeyError, IndexError, TypeError, OverflowError)


def _pandas_index(schema: Any) -> set[str]:
    """The columns pandas stored its index in (`__index_level_0__`): not data, never an input."""
    try:
        meta = json.loads((schema.metadata or {}).get(b"pandas", b"{}"))
        return {n for n in meta.get("index_columns", []) if isinstance(n, str)}
    except (ValueError, AttributeError, TypeError):
        return {"__index_level_0__"}


def _check_schema(src: str, schema: Any, names: list[str], rows: int) -> None:
    """Sizes and types from the file's footer, before a byte of data is read."""
    import pyarrow as pa

    _check_counts(src, rows, len(names))
    check_header(src, names)
    for name in names:
        kind = schema.field(name).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) or _is_text(kind)):
            raise ChainruleError(f"{src}: column {describe(name)}: expected numbers or text, got {kind}")


def _check_counts(src: str, rows: int, columns: int) -> None:
    limits.EXAMPLES.check(rows, f"{src}: rows")
    if rows < 1:
        raise ChainruleError(f"{src}: expected at least one example (a row of data), got none")
    limits.INPUTS.check(max(columns - 1, 0), f"{src}: columns besides the target")
    limits.CELLS.check(rows * columns, f"{src}: cells")


def _is_text(kind: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _parquet_column(src: str, name: str, col: Any) -> Column:
    import pyarrow as pa

    if col.null_count:
        raise ChainruleError(
            f"{src}: column {describe(name)}: expected a value in every row, got {col.null_count:,} empty"
        )
    if pa.types.is_dictionary(col.type) or _is_text(col.type):
        found = _categories(src, name, col.cast(pa.string()), strict=False)
        assert found is not None  # only a strict reading refuses
        return found
    values = col.to_numpy().astype(np.float64)
    if not np.isfinite(values).all():
        raise ChainruleError(
            f"{src}: column {describe(name)}: expected finite numbers, got {values[~np.isfinite(values)][0]}"
        )
    return values


__all__ = ["read_csv", "read_parquet"]
