"""NumPy's .npy and .npz formats, read header first.

An .npy file is a header (magic, version, a Python dict literal: type, order, shape) and then the
values. The header is parsed and checked before the values are touched: the type must be real
numbers (not complex, text or objects, which only pickle reads) and the declared shape must match
the bytes that follow, so a 100-byte file that declares (10⁶, 10⁶) is refused without allocating.
An .npz file is a zip of .npy members; its directory's sizes are checked against the limit before
any member is unpacked, and each member is read as an .npy file. Whatever a damaged file makes the
zip or header parsers raise becomes one line naming the file.
"""

from __future__ import annotations

import io
import math
import struct
import tokenize
import zipfile
import zlib

import numpy as np

from chainrule.engine import limits
from chainrule.errors import ChainruleError, describe
from chainrule.io.sources import complaint

Array = np.ndarray
MAGIC = b"\x93NUMPY"
# What NumPy's header parser raises on damaged bytes: it evaluates a dict literal (SyntaxError,
# ValueError), retokenises old headers (TokenError), then builds a type from it (TypeError, KeyError).
_BAD_HEADER = (ValueError, SyntaxError, tokenize.TokenError, TypeError, KeyError, IndexError, OverflowError,
               RecursionError, AttributeError)  # fmt: skip
# What the zip module raises on a damaged archive or member (a bad CRC, a truncated stream, an
# unknown compression method, an encrypted member).
_BAD_ZIP = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, NotImplementedError,
            RuntimeError, struct.error, ValueError)  # fmt: skip


def read_npy(src: str, raw: bytes, text: bool = False) -> Array:
    """The array of an .npy file's bytes, its header checked first (see the module's notes).
    `text`: Unicode text is allowed too (a network file's JSON document)."""
    dtype, shape, fortran, offset = _header(src, raw)
    if dtype.kind == "c":
        raise ChainruleError(f"{src}: expected real numbers, got complex numbers ({dtype})")
    if dtype.kind not in ("biufU" if text else "biuf") or dtype.fields is not None or dtype.subdtype is not None:
        raise ChainruleError(f"{src}: expected an array of numbers, got {describe(str(dtype))}")
    count = math.prod(shape)  # Python's integers: a declared shape cannot wrap around
    if count * dtype.itemsize != len(raw) - offset:
        raise ChainruleError(
            f"{src}: expected {count * dtype.itemsize:,} bytes of values for shape {shape}, got {len(raw) - offset:,}"
        )
    flat = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
    return (flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)).copy()


def _header(src: str, raw: bytes) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    if not raw:
        raise ChainruleError(f"{src}: expected a NumPy .npy array, got an empty file")
    if not raw.startswith(MAGIC):
        raise ChainruleError(f"{src}: expected a NumPy .npy array (starting {MAGIC!r}), got other data")
    fh = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(fh)
        if version not in ((1, 0), (2, 0)):
            raise ChainruleError(f"{src}: expected an .npy file of version 1.0 or 2.0, got {version}")
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(fh)
    except _BAD_HEADER as exc:
        raise ChainruleError(f"{src}: expected a NumPy .npy array, got a damaged header ({complaint(exc)})") from None
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ChainruleError(f"{src}: expected a shape of whole numbers ≥ 0 in the .npy header, got {describe(shape)}")
    return dtype, tuple(shape), bool(fortran), fh.tell()


def read_npz(
    src: str, data: bytes, wanted: tuple[str, ...] | None = None, text: tuple[str, ...] = ()
) -> tuple[list[str], dict[str, Array]]:
    """(the names of an .npz file's arrays, the arrays named in `wanted`, or all); the arrays named
    in `text` may hold Unicode text."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            unpacked = sum(info.file_size for info in infos)
            if unpacked > limits.BYTES.value():
                raise ChainruleError(
                    f"{src}: expected arrays of {limits.BYTES.exceeded(unpacked)} once unpacked, got more"
                )
            members = {info.filename.removesuffix(".npy"): info for info in infos}
            chosen = [n for n in members if wanted is None or n in wanted]
            arrays = {n: read_npy(f"{src}: {describe(n)}", archive.read(members[n]), n in text) for n in chosen}
    except ChainruleError:
        raise
    except _BAD_ZIP as exc:
        raise ChainruleError(
            f"{src}: expected an .npz file (a zip of arrays), got a damaged one ({complaint(exc)})"
        ) from None
    return list(members), arrays


__all__ = ["read_npy", "read_npz"]
