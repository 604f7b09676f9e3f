"""Data held as arrays: NumPy's .npz/.npy, MNIST's IDX files (.gz too), and Parquet tables.

No format here runs code while loading (`np.load(allow_pickle=False)`), and every size is
checked against `engine.limits` from the file's header before the data is used:

* ``.npz``: the inputs are the array ``x``, the targets ``--target NAME`` (default ``y``); an
  array of more than two dimensions (images) is flattened to one row per example.
* ``.npy``: one 2-D array, inputs and target together; the target is column ``--target N``
  (counted from 1; default: the last column).
* IDX (``train-images-idx3-ubyte[.gz]``): the images, one row of pixels per example; the labels
  are ``--labels FILE``, by default the same name with ``images-idx3`` replaced by ``labels-idx1``.
* Parquet: named columns, read like a CSV file's (needs the ``parquet`` extra: pyarrow).
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np

from chainrule.engine import limits
from chainrule.errors import ChainruleError, shown_path
from chainrule.io.sources import gunzip, kind, read_bytes

Array = np.ndarray
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
ARRAY_KINDS = ("npz", "npy", "idx", "gz")


def _rows(src: str, x: Array) -> Array:
    """Examples as rows (an image becomes one row of pixels), within the size limits."""
    if x.ndim == 0:
        raise ChainruleError(f"{src}: expected an array of examples, got a single number")
    limits.EXAMPLES.check(x.shape[0], f"{src}: examples")
    limits.INPUTS.check(int(np.prod(x.shape[1:], dtype=np.int64)), f"{src}: inputs per example")
    return x.reshape(x.shape[0], -1) if x.ndim != 2 else x


def _npz(src: str, data: bytes, target: str | None) -> tuple[Array, Array]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise ChainruleError(f"{src}: expected an .npz file (a zip of arrays), got {exc}") from None
    if unpacked > limits.BYTES.value():
        raise ChainruleError(f"{src}: expected arrays of {limits.BYTES.exceeded(unpacked)} once unpacked, got more")
    name = target or "y"
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            missing = [k for k in ("x", name) if k not in archive.files]
            if missing:
                have = ", ".join(archive.files) or "none"
                raise ChainruleError(f"{src}: expected an array named {missing[0]!r} (arrays: {have})")
            x, y = archive["x"], archive[name]
    except ValueError as exc:  # an object array, which only pickle could read
        raise ChainruleError(f"{src}: expected arrays of numbers ({exc})") from None
    return x, y


def _npy(src: str, data: bytes, target: str | None) -> tuple[Array, Array]:
    whole = _array(src, data)
    if whole.ndim != 2 or whole.shape[1] < 2:
        raise ChainruleError(f"{src}: expected a 2-D array (examples × inputs and target), got shape {whole.shape}")
    col = whole.shape[1] if not target else int(target) if target.isdigit() else 0
    if not 1 <= col <= whole.shape[1]:
        raise ChainruleError(f"{src}: --target: expected a column number from 1 to {whole.shape[1]}, got {target!r}")
    return np.delete(whole, col - 1, axis=1), whole[:, col - 1]


def _array(src: str, data: bytes) -> Array:
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        raise ChainruleError(f"{src}: expected a NumPy .npy array of numbers ({exc})") from None


def idx(src: str, data: bytes) -> Array:
    """An IDX array: 2 zero bytes, a type byte, the number of dimensions, each dimension as a
    big-endian 32-bit count, then the values (big-endian) row by row."""
    if data[:2] == b"\x1f\x8b":
        data = gunzip(data, src)
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in IDX_TYPES or data[3] < 1:
        raise ChainruleError(f"{src}: expected an IDX file (MNIST's format), got other data")
    ndim, dtype = data[3], np.dtype(IDX_TYPES[data[2]])
    if len(data) < 4 + 4 * ndim:
        raise ChainruleError(f"{src}: expected {ndim} dimension sizes in the IDX header, got a shorter file")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - 4 - 4 * ndim != expected:
        raise ChainruleError(
            f"{src}: expected {expected:,} bytes of values for shape {shape}, got {len(data) - 4 - 4 * ndim:,}"
        )
    return np.frombuffer(data, dtype, offset=4 + 4 * ndim).reshape(shape)


def labels_path(images: str, labels: str | None) -> str:
    """--labels, or the images file's name with images-idx3 → labels-idx1 (MNIST's naming)."""
    if labels:
        return labels
    name = Path(images).name
    if "images-idx3" in name:
        return str(Path(images).with_name(name.replace("images-idx3", "labels-idx1")))
    raise ChainruleError(f"{shown_path(images)}: expected --labels FILE (the IDX file of its labels)")


def read_arrays(spec: str, data: bytes, target: str | None, labels: str | None) -> tuple[Array, Array]:
    """(inputs as rows, targets) of an .npz, .npy or IDX file; see the module's notes."""
    src, found = shown_path(spec), kind(spec, data)
    if found == "npz":
        x, y = _npz(src, data, target)
    elif found == "npy":
        x, y = _npy(src, data, target)
    else:
        x = idx(src, data)
        lab = labels_path(spec, labels)
        y = idx(shown_path(lab), read_bytes(lab, "an IDX labels file"))
    x = _rows(src, x)
    if len(y) != len(x):
        raise ChainruleError(f"{src}: expected as many targets as examples ({len(x):,}), got {len(y):,}")
    if not (np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.number)):
        raise ChainruleError(f"{src}: expected arrays of numbers, got {x.dtype} and {y.dtype}")
    return x, y


def inputs_only(spec: str, data: bytes, width: int) -> Array:
    """The inputs of an array file for prediction: ``x`` of an .npz, an IDX file, or a .npy array
    of `width` columns."""
    src = shown_path(spec)
    found = kind(spec, data)
    if found == "npz":
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            if "x" not in archive.files:
                raise ChainruleError(f"{src}: expected an array named 'x'")
            x = archive["x"]
    else:
        x = idx(src, data) if found in ("idx", "gz") else _array(src, data)
    x = _rows(src, x)
    if x.shape[1] != width:
        raise ChainruleError(f"{src}: expected {width} inputs per example (the network's), got {x.shape[1]}")
    return x.astype(np.float64)


def read_parquet(spec: str, data: bytes) -> tuple[list[str], list[Array | list[str]]]:
    """A Parquet table's columns by name: numbers as float64, text as category names."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ChainruleError(
            f"{shown_path(spec)}: reading Parquet needs pyarrow; install it with pip install 'chainrule[parquet]'"
        ) from None
    import pyarrow as pa

    src = shown_path(spec)
    try:
        handle = pq.ParquetFile(io.BytesIO(data))
        limits.EXAMPLES.check(handle.metadata.num_rows, f"{src}: rows")
        table = handle.read()
    except (pa.ArrowException, OSError) as exc:
        raise ChainruleError(f"{src}: expected a Parquet file ({str(exc).splitlines()[0]})") from None
    header, columns = [str(n) for n in table.column_names], []
    for name, col in zip(header, table.columns, strict=True):
        if col.null_count:
            raise ChainruleError(f"{src}: column {name!r}: expected a value in every row, got {col.null_count} empty")
        if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_boolean(col.type):
            values = col.to_numpy().astype(np.float64)
            if not np.isfinite(values).all():
                raise ChainruleError(
                    f"{src}: column {name!r}: expected finite numbers, got {values[~np.isfinite(values)][0]}"
                )
            columns.append(values)
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            columns.append([str(v) for v in col.to_pylist()])
        else:
            raise ChainruleError(f"{src}: column {name!r}: expected numbers or text, got {col.type}")
    return header, columns


__all__ = ["idx", "inputs_only", "labels_path", "read_arrays", "read_parquet"]
