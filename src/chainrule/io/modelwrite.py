"""Writing a shaped network (`engine.model.Model`) back as its file: the document `modelfile`
reads, so that writing then reading gives the same Model bit for bit (every float is written as the
shortest text that reads back as itself). TOML or JSON by the suffix; atomic, through
`netwrite.write_atomic`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from chainrule.engine.model import Model
from chainrule.io import modelops
from chainrule.io.netwrite import _toml_value, optimizer_keys, write_atomic


def to_dict(model: Model, *, include_examples: bool = True) -> dict[str, Any]:
    """The model as a plain document (the file schema), with its current tensors and statistics."""
    doc: dict[str, Any] = {}
    if model.title:
        doc["title"] = model.title
    doc["inputs"] = [int(n) for n in model.input_shape]
    doc["loss"] = model.loss.name
    doc["layers"] = [modelops.table(op) for op in model.ops]
    if include_examples and model.x.shape[0]:
        doc["examples"] = [
            {"x": modelops.nested(np.asarray(x)), "y": modelops.nested(np.asarray(y))}
            for x, y in zip(model.x, model.y, strict=True)
        ]
    t = model.training
    doc["training"] = {
        "learning_rate": t.learning_rate,
        "batch": t.batch,
        "reduction": t.reduction,
        "freeze": list(t.freeze),
        "epochs": t.epochs,
        "seed": t.seed,
        "dtype": t.dtype,
    } | optimizer_keys(t.optimizer)
    return doc


def _is_tables(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _inline(value: Any) -> str:
    """A value on one line; a table (``tensor_names``) as an inline table."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_inline(v)}" for k, v in value.items()) + " }"
    return _toml_value(value)


def _table(prefix: str, table: dict[str, Any]) -> list[str]:
    """A table's own keys, then its arrays of tables (a residual block's ``[[layers.layers]]``)."""
    lines = [f"{k} = {_inline(v)}" for k, v in table.items() if not _is_tables(v)]
    for key, value in table.items():
        if _is_tables(value):
            for inner in value:
                lines += ["", f"[[{prefix}{key}]]", *_table(f"{prefix}{key}.", inner)]
    return lines


def dumps_toml(doc: dict[str, Any]) -> str:
    """TOML text for a shaped network's document (nested layer tables included)."""
    lines = [f"{k} = {_inline(v)}" for k, v in doc.items() if not isinstance(v, dict) and not _is_tables(v)]
    for key, value in doc.items():
        if isinstance(value, dict):
            lines += ["", f"[{key}]", *_table(f"{key}.", value)]
        elif _is_tables(value):
            for table in value:
                lines += ["", f"[[{key}]]", *_table(f"{key}.", table)]
    return "\n".join(lines) + "\n"


def dumps(model: Model, path: str | os.PathLike[str] = "model.toml") -> str:
    """The file's text: JSON for a `.json` path, TOML otherwise."""
    doc = to_dict(model)
    return json.dumps(doc, indent=2) + "\n" if str(path).lower().endswith(".json") else dumps_toml(doc)


def save(model: Model, path: str | os.PathLike[str]) -> None:
    """Save a shaped network as TOML or JSON (by the suffix), atomically."""
    write_atomic(path, dumps(model, path))
