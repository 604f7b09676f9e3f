"""Binary network files (.npz): the same document as TOML/JSON, with the large arrays kept binary.

A 784-1024-1024-10 network is 41 MB of TOML that takes seconds to read; as .npz it is the arrays'
own bytes. The file holds ``network.json`` (the document of `netwrite.to_dict`, without weights
and examples), ``layers.<i>.weights`` for every layer, and ``examples.x``/``examples.y`` when the
network has examples. Reading runs no code (`np.load(allow_pickle=False)`); every size is checked
against `engine.limits` from the archive's directory before an array is read, and the document
goes through the same validation as a TOML file (`netfile.from_dict`), so one schema holds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.engine import limits
from chainrule.engine.network import Network
from chainrule.errors import NetfileError, Shown, shown_path
from chainrule.io import npyfile
from chainrule.io.netwrite import to_dict, write_atomic

DOCUMENT = "network.json"
ZIP_MAGIC = b"PK\x03\x04"


def is_npz(path: str | os.PathLike[str]) -> bool:
    """By suffix; or, for a file without one, by the zip signature at its start."""
    if str(path).lower().endswith(".npz"):
        return True
    if Path(path).suffix:
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == ZIP_MAGIC
    except (OSError, ValueError):
        return False


def save_npz(
    net: Network, path: str | os.PathLike[str], *, examples: bool = True, extra: dict[str, np.ndarray] | None = None
) -> None:
    """Write the network as .npz through a temporary file and a rename (never half a file); with
    `extra` arrays beside it (a checkpoint's state: numbers, or text as a 0-d array)."""
    doc = to_dict(net, include_examples=False, include_weights=False)
    arrays: dict[str, np.ndarray] = {}
    for i, layer in enumerate(net.layers):
        arrays[f"layers.{i}.weights"] = np.ascontiguousarray(layer.weight)
    if examples and net.x.shape[0]:
        arrays["examples.x"], arrays["examples.y"] = net.x, net.y
    arrays[DOCUMENT] = np.array(json.dumps(doc, ensure_ascii=False))
    arrays |= extra or {}
    write_atomic(path, lambda fh: np.savez(fh, **arrays))  # type: ignore[arg-type]


def read_npz(path: str | os.PathLike[str], text: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(the document, the arrays by name), every size within the limits, no code run; the arrays
    named in `text` (besides the document) may hold text."""
    src = shown_path(path)
    names, arrays = npyfile.read_npz(src, _bytes(path, src), text=(DOCUMENT, *text))  # headers checked before data
    if DOCUMENT not in names:
        raise NetfileError(src, DOCUMENT, "the network document (an .npz written by chainrule)", Shown("none"))
    document = arrays.pop(DOCUMENT)
    try:
        doc = json.loads(str(document)) if document.ndim == 0 else None
    except ValueError as exc:  # bad JSON (text arrays are refused before this, as only pickle reads them)
        raise NetfileError(src, DOCUMENT, "a JSON document", Shown(str(exc)[:80])) from None
    problem = limits.document_problem(doc)
    if problem is not None:
        raise NetfileError(src, problem[0], problem[1])
    if not isinstance(doc, dict):
        raise NetfileError(src, DOCUMENT, "a table (object) at the top level", Shown(type(doc).__name__))
    return doc, arrays


def read_arrays(path: str | os.PathLike[str], text: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Every array of an .npz file by name (those named in `text` may hold text), with the same
    limits and one-line errors as a network file; no code run."""
    src = shown_path(path)
    return npyfile.read_npz(src, _bytes(path, src), text=text)[1]


def _bytes(path: str | os.PathLike[str], src: str) -> bytes:
    most = limits.BYTES.value()
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > most:
                raise NetfileError(
                    src, "", f"a network file of {limits.BYTES.exceeded(size)}", Shown(f"{size:,} bytes")
                )
            return fh.read(most + 1)
    except OSError as exc:
        raise NetfileError(src, "", "an .npz network file", Shown(limits.unreadable(exc))) from None


def array(src: str, arrays: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> np.ndarray:
    """The array `name`, checked: this shape, finite numbers."""
    if name not in arrays:
        raise NetfileError(src, name, f"an array of shape {shape}", Shown("none"))
    value = arrays[name]
    if value.shape != shape or not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
        raise NetfileError(src, name, f"numbers of shape {shape}", Shown(f"{value.dtype} of shape {value.shape}"))
    if not np.isfinite(value).all():
        raise NetfileError(src, name, "finite numbers", Shown("a NaN or an infinity"))
    return value
