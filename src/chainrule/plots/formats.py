"""The picture formats `--plot` writes, told from the file name before any work starts, and the one
way a figure reaches its file (atomically, without dates, so that a rerun writes the same bytes).

This module imports no matplotlib: the command line checks `--plot NAME` with it before training
(a run of an hour must not end in "format 'csv' is not supported"), and a name without a suffix is
refused rather than quietly given ".png".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chainrule.errors import ChainruleError

# matplotlib's own writers that need no program besides it and Pillow (its pgf needs LaTeX; its raw
# and rgba are pixel dumps no viewer opens; avif and gif depend on how Pillow was built).
FORMATS: dict[str, str] = {
    ".png": "png",
    ".svg": "svg",
    ".svgz": "svg",
    ".pdf": "pdf",
    ".eps": "eps",
    ".ps": "ps",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".webp": "webp",
}
# The metadata that would differ from run to run (a date, a version string), left out.
_UNDATED: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None},
    "pdf": {"CreationDate": None},
    "eps": {"CreationDate": None},
    "ps": {"CreationDate": None},
}


def plot_format(path: str | os.PathLike[str], option: str = "--plot") -> str:
    """The format a figure is written in, from the name's suffix; one line naming the option if unknown."""
    suffix = Path(path).suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        names = ", ".join(FORMATS)
        got = f"{suffix!r}" if suffix else "no suffix"
        raise ChainruleError(f"{option} {os.fspath(path)}: expected a file name ending in one of {names}; got {got}")
    return fmt


def save_figure(fig: Any, path: str | os.PathLike[str], dpi: int, option: str = "--plot") -> None:
    """Write a matplotlib figure to `path` atomically (never half a picture), in the suffix's format."""
    from chainrule.io.netwrite import write_atomic

    fmt = plot_format(path, option)
    if Path(path).suffix.lower() == ".svgz":
        import gzip

        def write(fh: Any) -> None:
            with gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as packed:
                fig.savefig(packed, format="svg", dpi=dpi, metadata=_UNDATED["svg"])

    else:

        def write(fh: Any) -> None:
            fig.savefig(fh, format=fmt, dpi=dpi, metadata=_UNDATED.get(fmt))

    try:
        write_atomic(path, write)
    except OSError as exc:
        raise ChainruleError(f"{option} {os.fspath(path)}: cannot write ({exc.strerror})") from None
