"""Data files: MNIST's IDX (.gz too), .npz/.npy, Parquet, TSV and stdin train end to end; integer
labels become classes; the fast CSV reader gives the cell-by-cell reader's numbers; limits hold."""

from __future__ import annotations

import csv
import gzip
import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.errors import ChainruleError
from chainrule.io import data, tables
from conftest import ROOT
from helpers import assert_one_line, run_cli

FIXTURES = ROOT / "tests" / "fixtures"
IMAGES = FIXTURES / "tiny-images-idx3-ubyte"
NET = """inputs = 16
loss = "cross_entropy"
[[layers]]
name = "h"
units = 6
activation = "tanh"
[[layers]]
name = "out"
units = 3
activation = "softmax"
[training]
learning_rate = 0.2
batch = 8
epochs = 40
seed = 3
"""


@pytest.fixture
def net_file(tmp_path: Path) -> Path:
    path = tmp_path / "net.toml"
    path.write_text(NET)
    return path


def _labels() -> np.ndarray:
    return data.arrays.idx("labels", (FIXTURES / "tiny-labels-idx1-ubyte").read_bytes()).astype(np.int64)


def test_every_format_holds_the_same_examples() -> None:
    rng = np.random.default_rng(0)
    idx = data.load(str(IMAGES), rng)
    gz = data.load(str(IMAGES) + ".gz", rng, labels=str(FIXTURES / "tiny-labels-idx1-ubyte.gz"))
    npz = data.load(str(FIXTURES / "tiny.npz"), rng)
    parquet = data.load(str(FIXTURES / "tiny.parquet"), rng, target="label")
    assert idx.x.shape == (48, 16) and np.array_equal(idx.x, gz.x)
    assert np.array_equal(idx.x / 255.0, npz.x) and np.array_equal(npz.x, parquet.x)
    assert np.array_equal(idx.values[:, 0], _labels()) and np.array_equal(npz.values[:, 0], _labels())
    assert parquet.classes == ["dark, red", "plain", "wide"] and np.array_equal(parquet.labels, _labels())


@pytest.mark.parametrize(
    "args",
    [
        [str(IMAGES)],
        [str(IMAGES) + ".gz", "--labels", str(FIXTURES / "tiny-labels-idx1-ubyte.gz")],
        [str(FIXTURES / "tiny.npz")],
        [str(FIXTURES / "tiny.parquet"), "--target", "label"],
    ],
    ids=["idx", "idx.gz", "npz", "parquet"],
)
def test_training_from_a_data_file_learns_its_classes(net_file: Path, tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "trained.toml"
    result, _ = run_cli(["train", str(net_file), "--data", *args, "--standardize", "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    result, _ = run_cli(["predict", str(out), "--data", args[0], "-o", "-"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["out1", "out2", "out3", "class"] and len(rows) == 49
    names = ["dark, red", "plain", "wide"] if "parquet" in args[0] else ["0", "1", "2"]
    predicted = [r[3] for r in rows[1:]]
    assert predicted == [names[k] for k in _labels()]  # a class with a comma stays one cell


def test_an_mnist_style_csv_with_an_integer_label_trains_a_softmax(net_file: Path, tmp_path: Path) -> None:
    """The issue's case: `label` 0–9 style integers and a k-way softmax (was: expected 3 target columns)."""
    x = data.load(str(FIXTURES / "tiny.npz"), np.random.default_rng(0)).x
    path = tmp_path / "digits.csv"
    rows = [["label", *(f"p{i}" for i in range(16))]] + [
        [str(k), *(repr(float(v)) for v in r)] for k, r in zip(_labels(), x, strict=True)
    ]
    path.write_text("\n".join(",".join(r) for r in rows) + "\n")
    out = tmp_path / "t.toml"
    result, _ = run_cli(["train", str(net_file), "--data", str(path), "--target", "label", "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    result, _ = run_cli(["predict", str(out), "--data", str(path)])
    assert [r[3] for r in list(csv.reader(io.StringIO(result.stdout)))[1:]] == [str(k) for k in _labels()]


@given(st.lists(st.integers(0, 5), min_size=2, max_size=30), st.integers(1, 6), st.booleans())
def test_the_classes_rule(labels: list[int], outputs: int, forced: bool) -> None:
    """Whole numbers 0…k−1 feeding k ≥ 2 outputs are classes; --classes makes any whole numbers
    classes; anything else stays a number."""
    ds = data.Dataset(np.zeros((len(labels), 1)), ["x1"], "d", "t", values=np.array(labels, float)[:, None])
    got = data.as_classes(ds, outputs, forced)
    if forced or (outputs >= 2 and max(labels) < outputs):
        assert got.labels is not None and [got.classes[i] for i in got.labels] == [str(v) for v in labels]
        assert forced or got.classes == [str(k) for k in range(outputs)]
    else:
        assert got.labels is None and got is ds


def test_classes_refuses_fractions() -> None:
    ds = data.Dataset(np.zeros((2, 1)), ["x1"], "d.csv", "t", values=np.array([[0.0], [0.5]]))
    with pytest.raises(ChainruleError, match=r"d.csv: --classes: expected whole numbers as labels, got 0.5"):
        data.as_classes(ds, 2, forced=True)


cells = st.floats(-1e6, 1e6, allow_nan=False).map(repr) | st.integers(-999, 999).map(str)


@given(st.integers(1, 5).flatmap(lambda w: st.lists(st.lists(cells, min_size=w, max_size=w), min_size=1, max_size=8)))
def test_the_fast_reader_gives_the_cell_by_cell_numbers(rows: list[list[str]]) -> None:
    text = ",".join(f"c{j}" for j in range(len(rows[0]))) + "\n" + "\n".join(" , ".join(r) for r in rows) + "\n"
    header, columns, matrix = tables.read_table("t.csv", text.encode())
    assert matrix is not None  # the NumPy path ran
    slow_header, slow_rows = tables._rows("t.csv", text, ",")
    assert header == slow_header
    for j in range(len(header)):
        assert np.array_equal(columns[j], tables.column_of("t.csv", header, [r[j] for r in slow_rows], j))


def test_a_bad_cell_in_a_large_numeric_file_is_named_by_row_and_column(tmp_path: Path) -> None:
    rows = np.arange(3000.0).reshape(1000, 3)
    lines = ["a,b,c"] + [",".join(repr(float(v)) for v in r) for r in rows]
    lines[700] = "1,2,oops"  # the file's line 701 (line 1 is the header)
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ChainruleError, match=r"row 701, column 'c': expected a number, got 'oops'"):
        data.load_csv(path, "a")
    lines[700] = "1,nan,3"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ChainruleError, match=r"row 701, column 'b': expected a number, got 'nan'"):
        data.load_csv(path, "a")


def test_tsv_and_stdin(net_file: Path, tmp_path: Path) -> None:
    tsv = tmp_path / "d.tsv"
    tsv.write_text("a\tb\tkind\n1\t2\tdark, red\n3\t4\tplain\n")
    ds = data.load(str(tsv), np.random.default_rng(0), target="kind")
    assert ds.x.tolist() == [[1.0, 2.0], [3.0, 4.0]] and ds.classes == ["dark, red", "plain"]
    from click.testing import CliRunner

    from chainrule.cli.root import main

    out = tmp_path / "t.toml"
    npz = (FIXTURES / "tiny.npz").read_bytes()  # a binary format on stdin is known by its first bytes
    result = CliRunner().invoke(main, ["train", str(net_file), "--data", "-", "-q", "-o", str(out)], input=npz)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["predict", str(out), "--data", "-"], input=npz)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 49


@pytest.mark.parametrize("name", ["tiny.npz", "tiny-images-idx3-ubyte", "tiny.parquet"])
def test_the_examples_limit_holds_for_every_format(net_file: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINRULE_MAX_EXAMPLES", "10")
    target = ["--target", "label"] if name.endswith("parquet") else []
    err = assert_one_line(["train", str(net_file), "--data", str(FIXTURES / name), *target])
    assert "expected at most 10 examples" in err and "CHAINRULE_MAX_EXAMPLES=48" in err


def test_a_gzip_bomb_is_refused_before_it_fills_memory(
    net_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAINRULE_MAX_BYTES", "100000")
    path = tmp_path / "big-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + (10**6).to_bytes(4, "big") + bytes(10**6)))
    assert path.stat().st_size < 5000
    assert "once unpacked" in assert_one_line(["train", str(net_file), "--data", str(path)])
    with pytest.raises(ChainruleError, match=r"at most 100,000 bytes .*once unpacked"):
        data.load(str(path), np.random.default_rng(0), labels=str(path))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (lambda p: np.savez(p, x=np.array([["a"]], dtype=object), y=np.zeros(1)), "'x': expected an array of numbers"),
        (
            lambda p: np.savez(p, inputs=np.zeros((2, 2)), y=np.zeros(2)),
            "expected an array named 'x' (arrays: inputs, y)",
        ),
        (lambda p: np.savez(p, x=np.zeros((3, 2)), y=np.zeros(2)), "expected as many targets as examples (3), got 2"),
        (lambda p: Path(p).write_bytes(b"PK\x03\x04 not really"), "expected an .npz file"),
    ],
)
def test_bad_npz_files_are_one_line(tmp_path: Path, content: object, expected: str) -> None:
    path = tmp_path / "d.npz"
    content(str(path))  # type: ignore[operator]
    with pytest.raises(ChainruleError, match="d.npz: " + re.escape(expected)):
        data.load(str(path), np.random.default_rng(0))


def test_bad_idx_files_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x-images-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 4]) + bytes(11))
    with pytest.raises(ChainruleError, match=r"expected 12 bytes of values for shape \(3, 4\), got 11"):
        data.load(str(path), np.random.default_rng(0))
    path.write_bytes(bytes([0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 4]) + bytes(12))
    with pytest.raises(ChainruleError, match=r"x-labels-idx1-ubyte: expected an IDX labels file, got no such file"):
        data.load(str(path), np.random.default_rng(0))


def test_parquet_without_pyarrow_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ChainruleError, match=r"tiny.parquet: reading Parquet needs pyarrow; .*chainrule\[parquet\]"):
        data.load(str(FIXTURES / "tiny.parquet"), np.random.default_rng(0), target="label")


def test_train_dash_o_writes_the_network_to_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    xor = str(ROOT / "src" / "chainrule" / "examples" / "xor.toml")
    result, _ = run_cli(["train", xor, "--epochs", "3", "-o", "-"])
    assert result.exit_code == 0, result.output
    import tomllib

    from chainrule.io import netfile

    saved = netfile.from_dict(tomllib.loads(result.stdout))  # stdout is the network alone; the summary went to stderr
    (tmp_path / "file.toml").write_text("")
    run_cli(["train", xor, "--epochs", "3", "-q", "-o", str(tmp_path / "file.toml")])
    assert saved.parameters() == netfile.load(tmp_path / "file.toml").parameters()
    assert not (tmp_path / "-").exists() and "epoch" in result.stderr.lower()


def _pandas_parquet(path: Path) -> None:
    """What pandas writes for a DataFrame with a category column: the index as a column named in
    the schema's pandas metadata, the categories as a dictionary (with one level never used)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    kind = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0, 1], pa.int8()), pa.array(["cat", "dog", "unused"]))
    colour = pa.DictionaryArray.from_arrays(pa.array([1, 1, 0, 0], pa.int8()), pa.array(["red", "blue"]))
    table = pa.table({"a": [1.0, 2.0, 3.0, 4.0], "colour": colour, "kind": kind, "__index_level_0__": [7, 8, 9, 10]})
    meta = {"index_columns": ["__index_level_0__"], "columns": []}
    pq.write_table(table.replace_schema_metadata({b"pandas": json.dumps(meta).encode()}), path)


def test_pandas_parquet_index_is_dropped_and_categories_are_classes(tmp_path: Path) -> None:
    path = tmp_path / "frame.parquet"
    _pandas_parquet(path)
    ds = data.load(str(path), np.random.default_rng(0), target="kind")
    assert ds.columns == ["a", "colour=blue", "colour=red"]  # no __index_level_0__ among the inputs
    assert ds.x.tolist() == [[1, 1, 0], [2, 1, 0], [3, 0, 1], [4, 0, 1]]  # blue, blue, red, red
    assert ds.classes == ["cat", "dog"] and ds.labels is not None and ds.labels.tolist() == [0, 1, 0, 1]
    assert data.encode_inputs(path, ds.columns).tolist() == ds.x.tolist()


def test_delimiter_option_and_tsv_on_stdin(net_file: Path, tmp_path: Path) -> None:
    """TSV cannot be told by a name on stdin: --delimiter says it, for train and predict alike."""
    from click.testing import CliRunner

    from chainrule.cli.root import main

    x = data.load(str(FIXTURES / "tiny.npz"), np.random.default_rng(0)).x
    rows = ["\t".join(["label", *(f"p{i}" for i in range(16))])]
    rows += ["\t".join([str(k), *(repr(float(v)) for v in r)]) for k, r in zip(_labels(), x, strict=True)]
    tsv = "\n".join(rows) + "\n"
    out = tmp_path / "t.toml"
    args = ["train", str(net_file), "--data", "-", "--target", "label", "--delimiter", "tab", "-q", "-o", str(out)]
    result = CliRunner().invoke(main, args, input=tsv)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["predict", str(out), "--data", "-", "--delimiter", "\\t"], input=tsv)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 49
    result = CliRunner().invoke(main, ["predict", str(out), "--data", "-", "--delimiter", "ab"], input=tsv)
    assert result.exit_code == 2 and "--delimiter: expected one character" in result.output
