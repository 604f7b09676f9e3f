"""Where data comes from: a file or standard input (`-`), read whole within the size limit, and
what kind of data it holds (by the file's suffix, or by its first bytes when it has none).

Every format's reader takes the bytes from here, so the limit of `engine.limits.BYTES` holds for
each of them before anything is parsed or allocated.
"""

from __future__ import annotations

import os
import stat
import sys
import zlib
from pathlib import Path

from chainrule.engine import limits
from chainrule.errors import ChainruleError, one_line, shown_path

STDIN = "-"
# The first bytes of each binary format: how data piped in on stdin is recognised.
MAGIC = {b"PK\x03\x04": "npz", b"\x93NUMPY": "npy", b"PAR1": "parquet", b"\x1f\x8b": "gz"}
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".npz": "npz", ".npy": "npy", ".parquet": "parquet",
            ".pq": "parquet", ".gz": "gz", ".idx": "idx"}  # fmt: skip


def read_bytes(spec: str | os.PathLike[str], what: str) -> bytes:
    """The whole file (or stdin for `-`), at most BYTES long, with a one-line error otherwise."""
    if str(spec) != STDIN:
        return _read_file(spec, what)
    most = limits.BYTES.value()
    data = sys.stdin.buffer.read(most + 1)
    if len(data) > most:
        raise ChainruleError(f"-: expected {what} of {limits.BYTES.exceeded(len(data))} on standard input, got more")
    return data


def _read_file(path: str | os.PathLike[str], what: str) -> bytes:
    src = shown_path(path)
    most = limits.BYTES.value()
    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
                raise ChainruleError(f"{src}: expected {what}, got a device")
            size = info.st_size
            if size > most:
                raise ChainruleError(f"{src}: expected {what} of {limits.BYTES.exceeded(size)}, got {size:,}")
            data = fh.read(most + 1)
    except OSError as exc:
        raise ChainruleError(f"{src}: expected {what}, got {limits.unreadable(exc)}") from None
    except ValueError:
        raise ChainruleError(f"{src}: expected {what}, got a name no file system holds") from None
    if len(data) > most:
        raise ChainruleError(f"{src}: expected {what} of {limits.BYTES.exceeded(len(data))}, got more")
    return data


def complaint(exc: BaseException) -> str:
    """A parser's own words about a damaged file, short and on one line, for the end of a message."""
    text = one_line(" ".join(str(exc).split())) or type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."


def gunzip(data: bytes, src: str) -> bytes:
    """A .gz file's contents, stopping (with one line) once they pass the size limit: a small file
    that unpacks to gigabytes is refused before it fills the memory."""
    most = limits.BYTES.value()
    unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = unpacker.decompress(data, most + 1)
    except zlib.error as exc:
        raise ChainruleError(f"{src}: expected a gzip file, got damaged data ({exc})") from None
    if len(out) > most:
        raise ChainruleError(f"{src}: expected data of {limits.BYTES.exceeded(len(out))} once unpacked, got more")
    return out


def resolve(spec: str, data: bytes) -> tuple[str, bytes]:
    """What a data file holds and its bytes, a gzip file unpacked: csv, tsv, npz, npy, parquet or idx.

    `iris.csv.gz` is a CSV file and `train-images-idx3-ubyte.gz` an IDX file (by the name without
    `.gz`); a `.gz` with no other suffix, or gzip on stdin, is known by the first bytes it unpacks to."""
    found = kind(spec, data)
    if found != "gz":
        return found, data
    inner = gunzip(data, shown_path(spec))
    named = spec[:-3] if spec != STDIN and spec.lower().endswith(".gz") else STDIN
    found = kind(named, inner)
    if found == "gz":
        raise ChainruleError(f"{shown_path(spec)}: expected data inside the gzip file, got another gzip file")
    return found, inner


def kind(spec: str, data: bytes) -> str:
    """csv, tsv, npz, npy, parquet, idx or gz: by suffix, else by the first bytes (stdin has no name)."""
    suffix = Path(spec).suffix.lower() if spec != STDIN else ""
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    if "-idx" in Path(spec).name or Path(spec).name.endswith("ubyte"):
        return "idx"
    for magic, name in MAGIC.items():
        if data.startswith(magic):
            return name
    if len(data) >= 4 and data[:2] == b"\0\0" and 0x08 <= data[2] <= 0x0E:
        return "idx"
    return "csv"


__all__ = ["STDIN", "complaint", "gunzip", "kind", "read_bytes", "resolve"]
