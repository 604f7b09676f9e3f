"""A shaped network's step as JSON: every value by name, each layer, each op's worked numbers."""

from __future__ import annotations

import json
from typing import Any

from chainrule.record.model_step import ModelStepRecord
from chainrule.record.model_types import OpDetail


def model_to_dict(record: ModelStepRecord) -> dict[str, Any]:
    """The record as JSON-ready data: names, shapes, every value (by the names `check` reads), the updates."""
    return {
        "title": record.title,
        "input_shape": list(record.input_shape),
        "layers": [
            {
                "name": o.name,
                "type": o.kind,
                "activation": o.activation,
                "input_shape": list(o.in_shape),
                "output_shape": list(o.out_shape),
                "tensors": o.tensors,
                "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in o.settings.items()},
            }
            for o in record.ops
        ],
        "loss": record.loss,
        "reduction": record.reduction,
        "learning_rate": record.learning_rate,
        "optimizer": record.optimizer.name,
        "examples": [i + 1 for i in record.examples],
        "fused": record.fused,
        "values": dict(record.values),
        "worked": [_detail(d) for d in record.details],
    }


def _detail(d: OpDetail) -> dict[str, Any]:
    """What the explanation works for one op, beyond `values`: max-pool's winners, the paths, BPTT's steps."""
    out: dict[str, Any] = {"layer": d.op, "type": d.kind}
    if d.windows and d.kind == "maxpool2d":
        out["winners"] = {w.name: w.inputs[w.winner] for w in d.windows if w.winner >= 0}
    if d.paths:
        labels = ("direct", "through_mu", "through_var") if d.kind == "batchnorm" else ("through_block", "skip")
        out["paths"] = {name: dict(zip(labels, parts, strict=True)) for name, parts, _ in d.paths}
    if d.steps:
        out["steps"] = {name: list(terms) for name, terms in d.steps.items()}
    return out


def render_model(records: list[ModelStepRecord]) -> str:
    """One JSON object a step (a list for several)."""
    data = [model_to_dict(r) for r in records]
    return json.dumps(data[0] if len(data) == 1 else data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
