"""The machine-readable view: one JSON object with every value by name at full precision."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from chainrule import __version__
from chainrule.record.step import StepRecord


def to_dict(record: StepRecord) -> dict[str, Any]:
    """The record as plain data: `values` is the flat name → number map the checker reads."""
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


def render(record: StepRecord) -> str:
    return json.dumps(to_dict(record), indent=2, allow_nan=False, ensure_ascii=False) + "\n"
