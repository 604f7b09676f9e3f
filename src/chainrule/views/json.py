"""The machine-readable view: one JSON object with every value by name at full precision."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from chainrule import __version__
from chainrule.record.step import StepRecord


def to_dict(record: StepRecord, matrices: bool = False) -> dict[str, Any]:
    """The record as plain data: `values` is the flat name → number map the checker reads.

    With `matrices`, the step in matrix form too (`matrices_dict`).
    """
    out = _scalars(record)
    if matrices:
        out["matrices"] = matrices_dict(record)
    return out


def matrices_dict(record: StepRecord) -> dict[str, Any]:
    """The step's matrices by layer (record.matrix), every entry at full precision beside its scalar name.

    Each matrix is {"shape": [rows, columns], "values": rows of numbers, "names": rows of names}.
    Examples are the columns; `scale` is the 1/N of a mean (1 for a sum).
    """
    from chainrule.record.matrix import LayerMatrices, Named, matrix_step

    def grid(m: Named | None) -> dict[str, Any] | None:
        if m is None:
            return None
        return {"shape": list(m.shape), "values": m.values.tolist(), "names": [list(r) for r in m.names]}

    def layer(lm: LayerMatrices) -> dict[str, Any]:
        return {
            "layer": lm.info.name,
            "index": lm.index,
            "activation": lm.info.activation,
            "bias": lm.info.bias_mode,
            "W": grid(lm.weight),
            "b": grid(lm.bias),
            "A_prev": grid(lm.prev),
            "Z": grid(lm.z),
            "A": grid(lm.a),
            "f'(Z)": grid(lm.derivative),
            "jacobians": [j.tolist() for j in lm.jacobians],
            "dL/dA": grid(lm.d_a),
            "delta": grid(lm.delta),
            "dL/dW": grid(lm.d_weight),
            "dL/db": grid(lm.d_bias),
            "dL/dalpha": lm.d_alpha,
            "W_new": grid(lm.weight_new),
            "b_new": grid(lm.bias_new),
        }

    step = matrix_step(record)
    return {
        "examples_as": "columns",
        "scale": step.scale,
        "X": grid(step.x),
        "Y": grid(step.y),
        "G": step.per_example_gradient.tolist(),
        "losses": step.losses.tolist(),
        "loss": step.loss,
        "layers": [layer(lm) for lm in step.layers],
    }


def _scalars(record: StepRecord) -> dict[str, Any]:
    return {
        "chainrule": __version__,
        "title": record.title,
        "source": record.source,
        "network": {
            "inputs": list(record.inputs),
            "layers": [asdict(layer) for layer in record.layers],
            "loss": record.loss,
        },
        "step": {
            "examples": [i + 1 for i in record.examples],
            "batch": record.batch_kind,
            "reduction": record.reduction,
            "learning_rate": record.learning_rate,
        },
        "values": dict(record.values),
        "chains": {
            param: [
                {
                    "form": chain.form,
                    "value": chain.value,
                    "paths": [
                        {
                            "via": path.via,
                            "value": path.value,
                            "factors": [
                                {"d": f"d{f.num}/d{f.den}", "value": f.value, "kind": f.kind} for f in path.factors
                            ],
                        }
                        for path in chain.paths
                    ],
                }
                for chain in chains
            ]
            for param, chains in record.chains.items()
        },
        "updates": [asdict(u) for u in record.updates],
    }


def render(record: StepRecord, matrices: bool = False) -> str:
    return json.dumps(to_dict(record, matrices), indent=2, allow_nan=False, ensure_ascii=False) + "\n"
