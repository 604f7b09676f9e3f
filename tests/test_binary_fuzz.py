"""Damaged binary data: byte-mutated .npz/.npy/Parquet/IDX files through every reader.

Each generated case damages one valid file of each format (six, with a zip rebuilt around a
damaged .npy member and a gzipped IDX) and reads it as `train --data` and `predict --data` read
it, and a damaged .npz network file as `explain net.npz` reads it: 200 cases, 1,400 files. Whatever
the damage, the answer is the data or one line (ChainruleError), never another exception or a
warning; a share of the cases goes through the command line too. Sizes are held small by the
limits (as a user can), so a header that lies about its shape cannot cost memory.
"""

from __future__ import annotations

import gzip
import io
import random
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from chainrule.cli.root import main
from chainrule.errors import ChainruleError
from chainrule.io import data, netfile, netnpz
from conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
NET = """inputs = 16
loss = "cross_entropy"
[[layers]]
units = 3
activation = "softmax"
"""
# Header edits that make the families of damage the readers must name: lying shapes (huge, empty,
# negative, wrapping past int64), other types (complex, text, objects), broken literals.
HEADER_EDITS = [b"(1000000, 1000000)", b"(0, 17)", b"(48, 0)", b"(-1, 17)", b"(4294967296, 4294967296, 4294967296)",
                b"()", b"(48,", b"'<c16'", b"'|O'", b"'<U3'", b"'<f8', 'x': 1", b"\x00", b"{", b"'''", b"(48, 17), 'a': ("]  # fmt: skip


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _seeds() -> dict[str, bytes]:
    tiny = np.load(FIXTURES / "tiny.npz")
    with tempfile.TemporaryDirectory() as tmp:
        netnpz.save_npz(netfile.load(), Path(tmp) / "net.npz")
        network = (Path(tmp) / "net.npz").read_bytes()
    return {
        "npz": (FIXTURES / "tiny.npz").read_bytes(),
        "npy": _npy_bytes(np.column_stack([tiny["x"], tiny["y"]])),
        "parquet": (FIXTURES / "tiny.parquet").read_bytes(),
        "idx": (FIXTURES / "tiny-images-idx3-ubyte").read_bytes(),
        "idx.gz": (FIXTURES / "tiny-images-idx3-ubyte.gz").read_bytes(),
        "net.npz": network,
    }


SEEDS = _seeds()


def mutate(raw: bytes, rnd: random.Random) -> bytes:
    """One to three edits: bytes flipped or set to edge values, cut, inserted, repeated; for an
    .npy, its header's shape or type rewritten."""
    out = bytearray(raw)
    for _ in range(rnd.randint(1, 3)):
        at = rnd.randrange(len(out) + 1)
        kind = rnd.randrange(6)
        if kind == 0 and out:
            for _ in range(rnd.randint(1, 8)):
                out[rnd.randrange(len(out))] = rnd.choice([0, 0xFF, 0x7F, 0x80, rnd.randrange(256)])
        elif kind == 1:
            del out[at:]
        elif kind == 2:
            out[at:at] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16)))
        elif kind == 3:
            out[at:at] = out[at : at + rnd.randint(1, 64)]
        elif kind == 4 and out.startswith(b"\x93NUMPY"):
            start = out.index(b"'shape': ") + 9 if b"'shape': " in out else 10
            end = out.find(b")", start) + 1 or start
            out[start:end] = rnd.choice(HEADER_EDITS)
        elif kind == 5 and out:
            del out[at : at + rnd.randint(1, 32)]
    return bytes(out)


def _npz_around(member: bytes) -> bytes:
    """A sound zip holding a damaged .npy member: the damage reaches the .npy reader."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.npy", member)
        archive.writestr("y.npy", _npy_bytes(np.arange(48) % 3))
    return buffer.getvalue()


@pytest.fixture(scope="module", autouse=True)
def small_limits() -> Iterator[None]:
    """Limits a user could set, so that nothing a damaged header declares can cost memory."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"BYTES": "2000000", "CELLS": "200000", "EXAMPLES": "10000", "INPUTS": "5000"}.items():
            mp.setenv(f"CHAINRULE_MAX_{name}", value)
        yield


def _read(path: Path, kind: str, labels: Path) -> None:
    """The file as every command reads it; only a one-line ChainruleError may come out."""
    readers: list[Callable[[], object]] = (
        [lambda: netfile.load(path, require_examples=False)]
        if kind == "net.npz"
        else [
            lambda: data.load(str(path), np.random.default_rng(0), target="label", labels=str(labels)),
            lambda: data.encode_inputs(path, [f"x{i}" for i in range(1, 17)]),
        ]
    )
    for read in readers:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a NumPy or pyarrow warning leaking is a failure too
            try:
                read()
            except ChainruleError as exc:
                assert "\n" not in str(exc)


SUFFIX = {"npz": ".npz", "npz-member": ".npz", "npy": ".npy", "parquet": ".parquet", "net.npz": ".npz"}


@given(st.randoms(use_true_random=False))
def test_damaged_binary_files_are_read_or_refused_in_one_line(rnd: random.Random) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        labels = folder / "d-labels-idx1-ubyte"
        labels.write_bytes(mutate((FIXTURES / "tiny-labels-idx1-ubyte").read_bytes(), rnd))
        files = {kind: mutate(raw, rnd) for kind, raw in SEEDS.items()}
        files["npz-member"] = _npz_around(mutate(SEEDS["npy"], rnd))
        paths = {}
        for kind, raw in files.items():
            name = "d-images-idx3-ubyte" + (".gz" if kind == "idx.gz" else "") if "idx" in kind else "d" + SUFFIX[kind]
            paths[kind] = folder / kind / name
            paths[kind].parent.mkdir()
            paths[kind].write_bytes(raw)
            _read(paths[kind], kind, labels)
        _command_line(folder, paths[rnd.choice(sorted(set(paths) - {"net.npz"}))], rnd.random() < 0.5)


def _command_line(folder: Path, path: Path, training: bool) -> None:
    """`train --data` or `predict --data` on a damaged file: its output, or one line and status 2."""
    net = folder / "net.toml"
    net.write_text(NET)
    args = ["train", str(net), "--data", str(path), "--epochs", "1", "-q", "-o", str(folder / "out.toml")]
    result = CliRunner().invoke(main, args if training else ["predict", str(net), "--data", str(path)])
    # 0, or 2 for refused data, or 1 when damaged values of a readable file make training diverge.
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if result.exit_code:
        assert result.output.startswith("chainrule: ") and result.output.count("\n") == 1, result.output


@pytest.mark.parametrize("edit", HEADER_EDITS)
def test_each_lying_header_is_refused_before_its_data(tmp_path: Path, edit: bytes) -> None:
    raw = SEEDS["npy"]
    start = raw.index(b"'shape': ") + 9
    damaged = raw[:start] + edit + raw[raw.index(b")", start) + 1 :]
    for path, content in ((tmp_path / "d.npy", damaged), (tmp_path / "d.npz", _npz_around(damaged))):
        path.write_bytes(content)
        with pytest.raises(ChainruleError) as info:
            data.load(str(path), np.random.default_rng(0))
        assert "\n" not in str(info.value) and str(info.value).startswith(str(path))


def test_the_reproducers_of_the_issue(tmp_path: Path) -> None:
    """Each family the review found, by name: one line each, from the header alone."""
    npy = SEEDS["npy"]
    start = npy.index(b"'shape': ") + 9
    huge = npy[:start] + b"(1000000, 1000000)" + npy[npy.index(b")", start) + 1 :]
    cases = {
        "huge.npy": (huge, r"expected 8,000,000,000,000 bytes of values for shape \(1000000, 1000000\)"),
        "huge.npz": (_npz_around(huge), r"'x': expected 8,000,000,000,000 bytes"),
        "empty.npy": (b"", "expected a NumPy .npy array, got an empty file"),
        "complex.npy": (_npy_bytes(np.ones((3, 2), complex)), r"expected real numbers, got complex numbers"),
        "none.npy": (_npy_bytes(np.zeros((0, 3))), "expected at least one example, got none"),
        "bad-crc.npz": (_crc_broken(), "expected an .npz file .*got a damaged one .*CRC"),
        "wrap-images-idx3-ubyte": (
            bytes([0, 0, 0x0E, 3]) + (2**32 - 1).to_bytes(4, "big") * 3,
            r"expected 633,825,299,671,392,843,082,401,579,000 bytes",
        ),
        "none-images-idx3-ubyte": (bytes([0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4]), "at least one example"),
    }
    for name, (content, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ChainruleError, match=expected):
            data.load(str(path), np.random.default_rng(0), labels=str(path))


def _crc_broken() -> bytes:
    raw = bytearray(_npz_around(SEEDS["npy"]))
    raw[raw.index(b"\x93NUMPY") + 200] ^= 0xFF  # a value byte of the stored member: the CRC no longer holds
    return bytes(raw)


def test_parquet_sizes_are_checked_from_the_footer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Columns and rows × columns are refused before `read()` allocates them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": np.zeros(100) for i in range(300)}), path)
    monkeypatch.setenv("CHAINRULE_MAX_INPUTS", "100")
    with pytest.raises(ChainruleError, match=r"columns besides the target: expected at most 100 inputs .*got 299"):
        data.load(str(path), np.random.default_rng(0), target="c0")
    monkeypatch.setenv("CHAINRULE_MAX_INPUTS", "1000")
    monkeypatch.setenv("CHAINRULE_MAX_CELLS", "1000")
    read = pq.ParquetFile.read
    monkeypatch.setattr(pq.ParquetFile, "read", lambda *a, **k: pytest.fail("read before the sizes were checked"))
    with pytest.raises(ChainruleError, match=r"cells: expected at most 1,000 numbers .*got 30,000"):
        data.load(str(path), np.random.default_rng(0), target="c0")
    monkeypatch.setattr(pq.ParquetFile, "read", read)
    pq.write_table(pa.table({"a": np.zeros(0), "b": np.zeros(0)}), tmp_path / "none.parquet")
    with pytest.raises(ChainruleError, match=r"none\.parquet: expected at least one example"):
        data.load(str(tmp_path / "none.parquet"), np.random.default_rng(0), target="a")


def test_gzip_holds_what_its_inner_name_says(tmp_path: Path) -> None:
    path = tmp_path / "tiny.npz.gz"
    path.write_bytes(gzip.compress(SEEDS["npz"]))
    assert data.load(str(path), np.random.default_rng(0)).x.shape == (48, 16)


@pytest.mark.parametrize("digits", ["²", "١٢", "𝟗", "1²", "³3", "9" * 40])
def test_digits_python_calls_digits_but_int_refuses_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, digits: str
) -> None:
    """`str.isdigit` is true of "²" (and `int` refuses it, or reads "١٢" as 12): sizes and column
    numbers the io layer reads from text are ASCII digits, anything else one line."""
    path = tmp_path / "d.npy"
    path.write_bytes(SEEDS["npy"])
    with pytest.raises(ChainruleError, match=r"d\.npy: --target: expected a column number from 1 to 17"):
        data.load(str(path), np.random.default_rng(0), target=digits)
    monkeypatch.setenv("CHAINRULE_MAX_UNITS", digits)
    with pytest.raises(ChainruleError, match=r"CHAINRULE_MAX_UNITS: expected a whole number ≥ 1"):
        netfile.load()
