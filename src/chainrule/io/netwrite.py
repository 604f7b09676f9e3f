"""Writing a network back: the file schema as a document, TOML text, and atomic writes.

`netfile` reads and validates; this module writes what it reads, so a saved network loads again
to the same parameters. Writes are atomic: a temporary file in the same folder, then a rename.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from chainrule.engine.network import Network
from chainrule.engine.optimizers import Settings
from chainrule.io.netparts import OPTIMIZER_CONSTANTS


def to_dict(net: Network, *, include_examples: bool = True, include_weights: bool = True) -> dict[str, Any]:
    """The network as a plain document (the file schema), with its current parameter values;
    without the weight matrices when they go elsewhere (an .npz keeps them binary)."""
    doc: dict[str, Any] = {}
    if net.title:
        doc["title"] = net.title
    doc["inputs"] = list(net.input_names)
    doc["loss"] = net.loss.name
    layers = []
    for li, layer in enumerate(net.layers):
        entry: dict[str, Any] = {"name": layer.name, "units": layer.units, "activation": layer.activation.name}
        if layer.alpha.size:
            entry["alpha"] = float(layer.alpha[0])
        if include_weights:
            entry["weights"] = [[float(v) for v in row] for row in layer.weight]
        if layer.bias_mode == "shared":
            entry["bias"] = float(layer.bias[0])
        elif layer.bias_mode == "neuron":
            entry["bias"] = [float(v) for v in layer.bias]
        if layer.custom_weight_names:
            entry["weight_names"] = layer.weight_names
        default_b = [f"b{li + 1}"] if layer.bias_mode == "shared" else [f"b_{n}" for n in layer.neuron_names]
        if layer.bias_names and layer.bias_names != default_b:
            entry["bias_names"] = layer.bias_names
        layers.append(entry)
    doc["layers"] = layers
    if include_examples and net.x.shape[0]:
        doc["examples"] = [
            {"x": [float(v) for v in x], "y": [float(v) for v in y]} for x, y in zip(net.x, net.y, strict=True)
        ]
    t = net.training
    doc["training"] = {
        "learning_rate": t.learning_rate,
        "batch": t.batch,
        "reduction": t.reduction,
        "freeze": list(t.freeze),
        "epochs": t.epochs,
        "seed": t.seed,
        "dtype": t.dtype,
    }
    doc["training"] |= optimizer_keys(t.optimizer)
    if net.data is not None:
        info = net.data
        table: dict[str, Any] = {"columns": info.columns, "target": info.target, "classes": info.classes}
        if info.mean:
            table.update(mean=[float(v) for v in info.mean], std=[float(v) for v in info.std])
        doc["data"] = {k: v for k, v in table.items() if v}
    return doc


def optimizer_keys(s: Settings) -> dict[str, Any]:
    """The [training] keys of a non-default optimizer and its constants (none for plain SGD, so
    SGD files are written exactly as before)."""
    if s.name == "sgd":
        return {}
    keys: dict[str, Any] = {"optimizer": s.name}
    return keys | {k: getattr(s, k) for k, users in OPTIMIZER_CONSTANTS.items() if s.name in users}


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)  # shortest text that reads back as the same float
    if isinstance(v, str):
        # JSON's escapes are TOML's, and JSON escapes U+0000–U+001F; TOML also forbids DEL raw.
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dumps_toml(doc: Mapping[str, Any]) -> str:
    """TOML text for a network document (scalars, arrays, tables and arrays of tables)."""
    lines: list[str] = []
    for key, v in doc.items():
        if not isinstance(v, dict | list) or (isinstance(v, list) and not (v and isinstance(v[0], dict))):
            lines.append(f"{key} = {_toml_value(v)}")
    for key, v in doc.items():
        if isinstance(v, dict):
            lines += ["", f"[{key}]"] + [f"{k} = {_toml_value(x)}" for k, x in v.items()]
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for table in v:
                lines += ["", f"[[{key}]]"] + [f"{k} = {_toml_value(x)}" for k, x in table.items()]
    return "\n".join(lines) + "\n"


TEMPORARY_MARK = ".chainrule-tmp-"  # in every temporary file's name: `.NAME.chainrule-tmp-PID-RANDOM`


def temporary_path(target: str | os.PathLike[str]) -> Path:
    """A fresh temporary file next to `target`, named so that a leftover is recognisable: the
    target's name, the mark, and the writing process's id (a later write removes the leftovers of
    processes that are gone)."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}{TEMPORARY_MARK}{os.getpid()}-")
    os.close(fd)
    return Path(tmp)


def _remove_leftovers(target: Path) -> None:
    """Remove temporary files of `target` that a crashed (or killed) earlier write left behind."""
    prefix = f".{target.name}{TEMPORARY_MARK}"
    try:
        candidates = [p for p in target.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return
    for leftover in candidates:
        pid = leftover.name[len(prefix) :].partition("-")[0]
        if pid.isascii() and pid.isdigit() and len(pid) < 10 and not _alive(int(pid)):  # "²".isdigit() too
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process writes one file at a time per target: any other is a leftover
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_atomic(path: str | os.PathLike[str], text: str | bytes | Callable[[BinaryIO], object]) -> None:
    """Write text, bytes (a `.pt`, `.onnx`, a figure) or what `text(file)` writes (an `.npz`, streamed) to
    path through a temporary file and a rename: never half a file.

    The temporary file sits next to the target (`temporary_path`); leftovers of earlier crashed
    writes to the same target are removed first."""
    target = Path(path)
    _remove_leftovers(target)
    tmp = temporary_path(target)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with tmp.open("wb") as fh:
            if callable(text):
                text(fh)
            else:
                fh.write(text.encode("utf-8") if isinstance(text, str) else text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save(net: Network, path: str | os.PathLike[str]) -> None:
    """Save a network as TOML or JSON (by the file's suffix), atomically."""
    doc = to_dict(net)
    if str(path).lower().endswith(".json"):
        write_atomic(path, json.dumps(doc, indent=2) + "\n")
    else:
        write_atomic(path, dumps_toml(doc))
