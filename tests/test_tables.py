"""CSV and TSV tables: every reader (pyarrow's, NumPy's, the `csv` module's) gives the same table,
whatever the line ends and quoting; hostile files are one line, never a traceback."""

from __future__ import annotations

import csv
import gzip
import io
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chainrule.cli.root import main
from chainrule.errors import ChainruleError
from chainrule.io import arrowtables, data, tables
from chainrule.io.columns import number

# Pieces of hostile CSV: separators, quotes, every line end, numbers in Python's forms and
# pyarrow's, words, empty and non-finite cells, digits that are not ASCII, a NUL, a BOM.
PIECES = [",", ",", "\t", ";", '"', '""', "\r", "\n", "\r\n", " ", "1", "-5", "2.5", "1e3", "+2", ".5", "0x10",
          "1_0", "a", "b", "x y", "nan", "inf", "-Infinity", "NA", "true", "\x00", "\ufeff", "²", "١", "\x1c", "é"]  # fmt: skip
CELLS = [p for p in PIECES if p not in (",", "\t", ";", "\r", "\n", "\r\n")] + ['"a,b"', '"1"', '"x\ny"', ""]
# Rows of cells, most of them well formed (so that the fast readers answer), and bytes at random.
numeric = st.sampled_from(["1", "-5", "2.5", "1e3", "+2", ".5", " 7 ", '"1"'])
words = st.sampled_from(["a", "b", "x y", "é", '"a,b"', '"x\ny"', "true", "NA", " c "])
kinds = st.sampled_from([numeric, words, st.sampled_from(CELLS)])  # each column: numbers, words, or anything
rows = st.tuples(kinds, kinds).flatmap(lambda k: st.lists(st.tuples(*k).map(",".join), min_size=1, max_size=6))
hostile = st.tuples(rows, st.sampled_from(["\n", "\r\n", "\r"])).map(lambda r: "a,b\n" + r[1].join(r[0])) | st.lists(
    st.sampled_from(PIECES), max_size=40
).map("".join)


def _careful(src: str, text: str, sep: str) -> tuple[list[str], list[tables.Column]]:
    """The `csv` module's reading, cell by cell: the rule the fast readers must agree with."""
    header, rows = tables._rows(src, text, sep)
    return header, [tables.column_of(src, header, [r[j] for r in rows], j) for j in range(len(header))]


def _same(a: tables.Column, b: tables.Column) -> bool:
    if isinstance(a, tables.Categories) or isinstance(b, tables.Categories):
        return (
            isinstance(a, tables.Categories)
            and isinstance(b, tables.Categories)
            and (a.names == b.names and np.array_equal(a.codes, b.codes))
        )
    return a.dtype == b.dtype == np.float64 and np.array_equal(a, b)


def _outcome(read: object) -> tuple[str, object]:
    try:
        return "ok", read()  # type: ignore[operator]
    except ChainruleError as exc:
        assert "\n" not in str(exc)
        return "refused", str(exc)


@given(hostile, st.sampled_from([",", "\t", ";"]))
def test_the_fast_readers_answer_only_as_the_csv_module_would(text: str, sep: str) -> None:
    """pyarrow's reader and NumPy's either give the careful reading's table exactly, or leave the
    file to it; no reader raises anything but a one-line ChainruleError."""
    raw = text.encode()
    kind, careful = _outcome(lambda: _careful("t.csv", text.removeprefix("\ufeff"), sep))
    fast = _outcome(lambda: arrowtables.read_csv("t.csv", raw, sep))
    if fast[0] == "ok" and fast[1] is not None:
        assert kind == "ok", careful
        header, columns, _ = fast[1]  # type: ignore[misc]
        assert header == careful[0] and all(_same(a, b) for a, b in zip(columns, careful[1], strict=True))  # type: ignore[index]
    numeric = tables._numeric(text.removeprefix("\ufeff"), sep)
    if numeric is not None:
        assert kind == "ok", careful
        assert numeric[0] == careful[0] and all(_same(a, b) for a, b in zip(numeric[1].T, careful[1], strict=True))  # type: ignore[index]
    whole = _outcome(lambda: tables.read_table("t.csv", raw, sep))
    assert whole[0] == kind or (kind == "refused" and "cells" in str(whole[1]))


numbers_written = st.floats(allow_nan=False, allow_infinity=False).map(repr) | st.integers(-(10**20), 10**20).map(str)
word = st.sampled_from(["red", "dark, red", 'say "hi"', "two\nlines", "é", "x\ry", " padded ", "true", "NA"])


def _table(rows: int) -> st.SearchStrategy[list[list[str]]]:
    """Columns of `rows` cells, each all numbers or all words."""
    column = st.lists(numbers_written, min_size=rows, max_size=rows) | st.lists(word, min_size=rows, max_size=rows)
    return st.lists(column, min_size=1, max_size=4)


@given(
    st.integers(1, 8).flatmap(_table),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
    st.sampled_from([",", "\t", ";"]),
)
def test_a_table_reads_back_as_written_whatever_the_line_ends_and_quoting(
    written: list[list[str]], end: str, quoting: int, sep: str
) -> None:
    # csv.writer quotes only the line end it writes: a lone CR (or LF) in a cell would go out bare.
    assume(quoting != csv.QUOTE_MINIMAL or not any("\r" in c or "\n" in c for col in written for c in col))
    buffer = io.StringIO()
    rows = [[f"c{j}" for j in range(len(written))], *zip(*written, strict=True)]
    csv.writer(buffer, delimiter=sep, lineterminator=end, quoting=quoting).writerows(rows)
    raw = buffer.getvalue().encode()
    with mock.patch.object(arrowtables, "read_csv", return_value=None):  # as without pyarrow installed
        without = tables.read_table("t.csv", raw, sep)
    for header, columns, _ in (tables.read_table("t.csv", raw, sep), without):
        assert header == rows[0]
        for cells, col in zip(written, columns, strict=True):
            numbers = [number(c) for c in cells]
            if all(v is not None for v in numbers):
                assert isinstance(col, np.ndarray) and col.tolist() == numbers
            else:
                assert isinstance(col, tables.Categories) and [col.names[k] for k in col.codes] == [
                    c.strip() for c in cells
                ]
    assert arrowtables.read_csv("t.csv", raw, sep) is not None  # pyarrow read it, itself


def test_pyarrow_reads_plain_files_itself(tmp_path: Path) -> None:
    """The shortcut is taken where it should be: numbers, and text columns beside them."""
    numbers = arrowtables.read_csv("t.csv", b"a,b\r\n1,2.5\r\n3,-4e2\r\n", ",")
    assert numbers is not None and numbers[2] is not None and numbers[2].tolist() == [[1, 2.5], [3, -400]]
    mixed = arrowtables.read_csv("t.csv", b'a\tkind\n1\t"dark\nred"\n2\t plain \n', "\t")
    assert mixed is not None and isinstance(mixed[1][1], tables.Categories)
    assert mixed[1][1].names == ["dark\nred", "plain"] and mixed[2] is None


def test_the_issue_file_through_predict_is_one_line(tmp_path: Path) -> None:
    """CR-only line ends and a quoted newline (issue 21's reproducer): csv.Error was a traceback."""
    net = tmp_path / "n.toml"
    net.write_text('inputs = ["c0"]\nloss = "binary_cross_entropy"\n[[layers]]\nunits = 1\nactivation = "sigmoid"\n')
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b'c0,label\r-5,\r-5,"\n"\r-5,nan')
    result = CliRunner().invoke(main, ["predict", str(net), "--data", str(bad)])
    assert result.exit_code == 2 and (result.exception is None or isinstance(result.exception, SystemExit))
    assert result.output.count("\n") == 1 and "row 2, column 'label': expected a value" in result.output
    bad.write_bytes(b"c0\r-5\r3\r")  # CR-only and well formed: reads
    result = CliRunner().invoke(main, ["predict", str(net), "--data", str(bad)])
    assert result.exit_code == 0 and len(result.output.splitlines()) == 3


@settings(max_examples=40)
@given(hostile)
def test_hostile_csv_through_predict_is_one_line_or_predictions(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        net = Path(tmp) / "n.toml"
        net.write_text('inputs = ["a"]\nloss = "binary_cross_entropy"\n[[layers]]\nunits = 1\nactivation = "sigmoid"\n')
        result = CliRunner().invoke(main, ["predict", str(net), "--data", "-"], input=("a\n" + text).encode())
    assert result.exit_code in (0, 2), result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    if result.exit_code == 2:
        assert result.output.count("\n") == 1 and result.output.startswith("chainrule: ")


def test_categories_are_counted_before_they_are_encoded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A column of IDs is refused at its count of values, not after a one-hot matrix of them."""
    text = "id,y\n" + "".join(f"user{i},{i % 2}\n" for i in range(5000))
    monkeypatch.setenv("CHAINRULE_MAX_CATEGORIES", "1000")
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(arrowtables, "read_csv", lambda *a: None)
        with pytest.raises(
            ChainruleError, match=r"t.csv: column 'id': expected at most 1,000 different values .*got 5,000"
        ):
            tables.read_table("t.csv", text.encode())


def test_duplicate_column_names_are_refused() -> None:
    for text in ("a,b,a\n1,2,3\n", "a,b,a\nx,2,3\n", 'a,"b",a\n1,2,3\n'):
        with pytest.raises(
            ChainruleError, match=r"column 'a': expected each column name once, got it as columns 1 and 3"
        ):
            tables.read_table("t.csv", text.encode())


def test_gzipped_tables_delimiters_and_tsv_on_stdin(tmp_path: Path) -> None:
    text = "a;b;kind\n1;2;x\n3;4;y\n"
    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(text.replace(";", ",").encode()))
    (tmp_path / "d.tsv.gz").write_bytes(gzip.compress(text.replace(";", "\t").encode()))
    (tmp_path / "d.txt").write_text(text)
    rng = np.random.default_rng(0)
    for ds in (
        data.load(str(tmp_path / "d.csv.gz"), rng, target="kind"),
        data.load(str(tmp_path / "d.tsv.gz"), rng, target="kind"),
        data.load(str(tmp_path / "d.txt"), rng, target="kind", delimiter=";"),
    ):
        assert ds.x.tolist() == [[1, 2], [3, 4]] and ds.classes == ["x", "y"]
    with pytest.raises(ChainruleError, match=r"--delimiter: expected one character"):
        data.load(str(tmp_path / "d.txt"), rng, target="kind", delimiter=";;")
    assert tables.delimiter_for("-", "tab") == "\t" == tables.delimiter_for("-", "\\t")


def test_without_pyarrow_the_csv_module_reads_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow.csv", None)  # as if the extra were not installed
    assert arrowtables.read_csv("t.csv", b"a,b\n1,2\n", ",") is None
    header, columns, matrix = tables.read_table("t.csv", b"a,b\r1,x\r2,y\r")
    assert header == ["a", "b"] and matrix is None and columns[0].tolist() == [1, 2]  # type: ignore[union-attr]


def test_gzip_on_stdin_is_known_by_what_it_unpacks_to(tmp_path: Path) -> None:
    net = tmp_path / "n.toml"
    net.write_text('inputs = ["a"]\nloss = "binary_cross_entropy"\n[[layers]]\nunits = 1\nactivation = "sigmoid"\n')
    packed = gzip.compress(b"a;kind\n1;x\n2;y\n")
    result = CliRunner().invoke(main, ["predict", str(net), "--data", "-", "--delimiter", ";"], input=packed)
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 3
    twice = gzip.compress(packed)
    result = CliRunner().invoke(main, ["predict", str(net), "--data", "-"], input=twice)
    assert result.exit_code == 2 and "expected data inside the gzip file, got another gzip file" in result.output
