"""Data held as arrays: NumPy's .npz/.npy and MNIST's IDX files (.gz too, unpacked by `sources`).

No format here runs code while loading, and every size is checked from the file's header before
the data is used (`io.npyfile` for NumPy's formats; IDX's header here):

* ``.npz``: the inputs are the array ``x``, the targets ``--target NAME`` (default ``y``); an
  array of more than two dimensions (images) is flattened to one row per example.
* ``.npy``: one 2-D array, inputs and target together; the target is column ``--target N``
  (counted from 1; default: the last column).
* IDX (``train-images-idx3-ubyte[.gz]``): the images, one row of pixels per example; the labels
  are ``--labels FILE``, by default the same name with ``images-idx3`` replaced by ``labels-idx1``.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np

from chainrule.engine import limits
from chainrule.errors import ChainruleError, shown_path
from chainrule.io.npyfile import read_npy, read_npz
from chainrule.io.sources import gunzip, read_bytes, resolve

Array = np.ndarray
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
ARRAY_KINDS = ("npz", "npy", "idx")


def _rows(src: str, x: Array) -> Array:
    """Examples as rows (an image becomes one row of pixels), at least one, within the size limits."""
    if x.ndim == 0:
        raise ChainruleError(f"{src}: expected an array of examples, got a single number")
    if x.shape[0] == 0:
        raise ChainruleError(f"{src}: expected at least one example, got none (shape {x.shape})")
    limits.EXAMPLES.check(x.shape[0], f"{src}: examples")
    width = math.prod(x.shape[1:])
    if width == 0:
        raise ChainruleError(f"{src}: expected at least one input per example, got none (shape {x.shape})")
    limits.INPUTS.check(width, f"{src}: inputs per example")
    _finite(src, x, "inputs")
    return x.reshape(x.shape[0], -1) if x.ndim != 2 else x


def _npz(src: str, data: bytes, target: str | None) -> tuple[Array, Array]:
    name = target or "y"
    names, arrays = read_npz(src, data, ("x", name))
    for key in ("x", name):
        if key not in arrays:
            raise ChainruleError(f"{src}: expected an array named {key!r} (arrays: {', '.join(names) or 'none'})")
    return arrays["x"], arrays[name]


def _npy(src: str, data: bytes, target: str | None) -> tuple[Array, Array]:
    whole = read_npy(src, data)
    if whole.ndim != 2 or whole.shape[1] < 2:
        raise ChainruleError(f"{src}: expected a 2-D array (examples × inputs and target), got shape {whole.shape}")
    col = limits.whole_number(target) if target else whole.shape[1]
    if col is None or not 1 <= col <= whole.shape[1]:
        raise ChainruleError(f"{src}: --target: expected a column number from 1 to {whole.shape[1]}, got {target!r}")
    return np.delete(whole, col - 1, axis=1), whole[:, col - 1]


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
    expected = math.prod(shape) * dtype.itemsize  # Python's integers: a product of sizes cannot wrap
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


def read_arrays(spec: str, found: str, data: bytes, target: str | None, labels: str | None) -> tuple[Array, Array]:
    """(inputs as rows, targets) of an .npz, .npy or IDX file (`found`: which); see the module's notes."""
    src = shown_path(spec)
    if found == "npz":
        x, y = _npz(src, data, target)
    elif found == "npy":
        x, y = _npy(src, data, target)
    else:
        x = idx(src, data)
        lab = labels_path(spec, labels)
        y = idx(shown_path(lab), resolve(lab, read_bytes(lab, "an IDX labels file"))[1])
    x = _rows(src, x)
    if y.ndim == 0 or len(y) != len(x):
        got = "a single number" if y.ndim == 0 else f"{len(y):,}"
        raise ChainruleError(f"{src}: expected as many targets as examples ({len(x):,}), got {got}")
    _finite(src, y, "targets")
    return x, y


def _finite(src: str, values: Array, what: str) -> None:
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise ChainruleError(f"{src}: expected finite numbers as {what}, got a NaN or an infinity")


def inputs_only(spec: str, found: str, data: bytes, width: int) -> Array:
    """The inputs of an array file for prediction: ``x`` of an .npz, an IDX file, or a .npy array
    of `width` columns."""
    src = shown_path(spec)
    x = _npz(src, data, "x")[0] if found == "npz" else idx(src, data) if found == "idx" else read_npy(src, data)
    x = _rows(src, x)
    if x.shape[1] != width:
        raise ChainruleError(f"{src}: expected {width} inputs per example (the network's), got {x.shape[1]}")
    return x.astype(np.float64)


__all__ = ["ARRAY_KINDS", "idx", "inputs_only", "labels_path", "read_arrays"]
